//! One command's consequences across instances, decided as data.
//!
//! A step moves one instance. What it sets off elsewhere is BPMN too, and is
//! decided here: a call activity starts its called process at the version its
//! binding names (an incident at the call activity when that cannot be done),
//! a called instance's end, uncaught error or escalation goes back to its call
//! activity, an interrupted call activity cancels what it called, a thrown
//! message goes to the oldest open subscription, a thrown signal to every
//! other instance's subscriptions and to the signal start events of the latest
//! versions, and a command that went stale on the way (its token or instance
//! gone) is dropped.
//!
//! [`Cascade`] does no I/O and reads no clock. Its driver (the store's unit,
//! or the in-memory [`crate::memory::Engine`]) asks it for the [`Next`] thing
//! to do, answers with what only the driver can fetch (an instance, its
//! definition, the open subscriptions of a name), and writes the effects each
//! step returns. The order is that of a depth-first walk: the effects of a
//! step are followed one by one, and a called instance started on the way
//! has its own followed before the rest of its caller's.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::definition::{NodeKind, ProcessDefinition, TimerSpec, Trigger, VersionBinding};
use crate::effect::{Command, CommandError, Effect, HistoryEvent};
use crate::executor;
use crate::instance::{
    Instance, InstanceState, LocalId, ParentLink, SubscriptionTarget, TokenId, TokenState, Wait,
};
use crate::value::Variables;
use millrace_model::timer::TimerValue;

/// The consequences of commands across instances, in the order they are due.
/// See the module documentation.
#[derive(Debug)]
pub struct Cascade {
    now: DateTime<Utc>,
    /// Effects of steps still to be followed, the most recent step's last.
    frames: Vec<Frame>,
    /// Commands for instances, oldest first.
    commands: VecDeque<Queued>,
    /// Messages thrown, delivered once no command is left.
    messages: VecDeque<(String, Variables)>,
    /// Signal start events a thrown signal reaches, started last.
    signal_starts: VecDeque<SignalStart>,
    /// What the last [`Next`] asked about, for its answer.
    asked: Option<Asked>,
}

#[derive(Debug)]
struct Frame {
    instance: String,
    parent: Option<ParentLink>,
    effects: VecDeque<Effect>,
}

#[derive(Debug)]
struct Queued {
    instance: String,
    command: Command,
    /// Sent from outside (its refusal is the caller's error), not cascaded.
    outside: bool,
}

#[derive(Debug)]
enum Asked {
    Message(Variables),
    Signal {
        sender: String,
        variables: Variables,
    },
}

/// A start event a signal reaches: the latest version of `key` starts there.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalStart {
    /// The process key.
    pub key: String,
    /// The signal start event's BPMN id.
    pub node: String,
    /// The thrower's variables, the new instance's first.
    pub variables: Variables,
}

/// A call activity's request to start its called process.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    /// The calling instance.
    pub parent: String,
    /// The token waiting at the call activity.
    pub token: TokenId,
    /// The id the called instance gets.
    pub child: String,
    /// The called process key.
    pub key: String,
    /// The version wanted; `None`: the latest deployed.
    pub version: Option<i64>,
    variables: Variables,
    business_key: Option<String>,
}

/// A command the driver is to run with [`Cascade::run`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunCommand {
    /// The instance it is for: load (and lock) it and its definition.
    pub instance: String,
    command: Command,
    outside: bool,
}

/// What the driver is to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Run a command on an instance: [`Cascade::run`].
    Run(RunCommand),
    /// Start a called instance: find the definition the request names, then
    /// [`Cascade::call`].
    Call(CallRequest),
    /// Find the oldest open `message` subscription named `name`, in any
    /// instance, then [`Cascade::message_subscriber`].
    FindMessageSubscriber {
        /// The message name.
        name: String,
    },
    /// Find every open `signal` subscription named `name`, oldest first, and
    /// the latest definitions' signal start events of that name
    /// ([`ProcessDefinition::signal_starts`]), then
    /// [`Cascade::signal_subscribers`].
    FindSignalSubscribers {
        /// The signal name.
        name: String,
    },
    /// Start a new instance of the latest version of `key` at a signal start
    /// event: [`Cascade::start`] with `start_node`.
    StartBySignal(SignalStart),
}

impl Cascade {
    /// A cascade of steps at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Cascade {
            now,
            frames: Vec::new(),
            commands: VecDeque::new(),
            messages: VecDeque::new(),
            signal_starts: VecDeque::new(),
            asked: None,
        }
    }

    /// Queues a command from outside: its refusal is returned by
    /// [`Cascade::run`] as the caller's error.
    pub fn push(&mut self, instance: String, command: Command) {
        self.commands.push_back(Queued {
            instance,
            command,
            outside: true,
        });
    }

    /// Creates instance `id` of `def` and runs its start (at `start_node`, or
    /// the none start event); its effects are the driver's to write, and are
    /// followed from here.
    pub fn start(
        &mut self,
        def: &ProcessDefinition,
        id: String,
        business_key: Option<String>,
        start_node: Option<String>,
        variables: Variables,
    ) -> Result<(Instance, Vec<Effect>), CommandError> {
        let (instance, effects) = executor::start(
            def,
            id,
            business_key,
            None,
            Command::Start {
                variables,
                start_node,
            },
            self.now,
        )?;
        self.follow(&instance, &effects);
        Ok((instance, effects))
    }

    /// The next thing to do, or `None` when the cascade is over.
    pub fn what_next(&mut self) -> Option<Next> {
        loop {
            if let Some(frame) = self.frames.last_mut() {
                let Some(effect) = frame.effects.pop_front() else {
                    self.frames.pop();
                    continue;
                };
                let instance = frame.instance.clone();
                let parent = frame.parent.clone();
                if let Some(next) = self.route(instance, parent, effect) {
                    return Some(next);
                }
                continue;
            }
            if let Some(q) = self.commands.pop_front() {
                return Some(Next::Run(RunCommand {
                    instance: q.instance,
                    command: q.command,
                    outside: q.outside,
                }));
            }
            if let Some((name, variables)) = self.messages.pop_front() {
                self.asked = Some(Asked::Message(variables));
                return Some(Next::FindMessageSubscriber { name });
            }
            return self.signal_starts.pop_front().map(Next::StartBySignal);
        }
    }

    /// Runs `run` on `instance` (of definition `def`), as [`Next::Run`]
    /// asked. Returns the step's effects for the driver to write, or `None`
    /// when the instance is unchanged and nothing is to be written: a
    /// cascaded command that went stale (its token, task or instance gone) is
    /// dropped. A cascaded command whose variables pass a limit of the
    /// receiver is refused with only a [`HistoryEvent::DeliveryRefused`] in
    /// the receiver's history, and the sender's step stands. A command from
    /// outside returns its refusal.
    pub fn run(
        &mut self,
        def: &ProcessDefinition,
        instance: &mut Instance,
        run: RunCommand,
    ) -> Result<Option<Vec<Effect>>, CommandError> {
        match executor::step(def, instance, run.command, self.now) {
            Ok(effects) => {
                self.follow(instance, &effects);
                Ok(Some(effects))
            }
            Err(e) if run.outside => Err(e),
            Err(CommandError::NotFound(..) | CommandError::Ended(_)) => Ok(None),
            Err(e @ (CommandError::Limit(_) | CommandError::InstanceFull(_))) => {
                Ok(Some(vec![Effect::History(HistoryEvent::DeliveryRefused {
                    reason: e.to_string(),
                })]))
            }
            Err(e) => Err(e),
        }
    }

    /// Starts the called instance `call` asked for, of `def` (`None`: that
    /// process or version is not deployed). When it cannot start, the call
    /// activity gets an incident saying why (a retry calls again) and this
    /// returns `None`.
    pub fn call(
        &mut self,
        call: CallRequest,
        def: Option<&ProcessDefinition>,
    ) -> Option<(Instance, Vec<Effect>)> {
        let failed = |message: String| Queued {
            instance: call.parent.clone(),
            command: Command::CallFailed {
                token: call.token,
                message,
            },
            outside: false,
        };
        let Some(def) = def else {
            let message = format!("the called process {:?} is not deployed", call.key);
            self.commands.push_back(failed(message));
            return None;
        };
        let parent = ParentLink {
            instance: call.parent.clone(),
            token: call.token,
        };
        match executor::start(
            def,
            call.child.clone(),
            call.business_key.clone(),
            Some(parent),
            Command::Start {
                variables: call.variables.clone(),
                start_node: None,
            },
            self.now,
        ) {
            Ok((instance, effects)) => {
                self.follow(&instance, &effects);
                Some((instance, effects))
            }
            Err(e) => {
                let message = format!("the called process {:?} cannot start: {e}", call.key);
                self.commands.push_back(failed(message));
                None
            }
        }
    }

    /// The answer to [`Next::FindMessageSubscriber`]: the oldest open
    /// subscription of that name, as (instance, subscription), if any. With
    /// none the message is lost, as BPMN says.
    pub fn message_subscriber(&mut self, found: Option<(String, LocalId)>) {
        let Some(Asked::Message(variables)) = self.asked.take() else {
            return;
        };
        if let Some((instance, subscription)) = found {
            self.commands.push_back(Queued {
                instance,
                command: Command::Trigger {
                    subscription,
                    variables,
                },
                outside: false,
            });
        }
    }

    /// The answer to [`Next::FindSignalSubscribers`]: the open subscriptions
    /// of that name, oldest first, as (instance, subscription), and the
    /// latest definitions' signal start events of that name, as (key, node).
    /// The thrower's own subscribers heard the signal within its step.
    pub fn signal_subscribers(
        &mut self,
        subscribers: Vec<(String, LocalId)>,
        starts: Vec<(String, String)>,
    ) {
        let Some(Asked::Signal { sender, variables }) = self.asked.take() else {
            return;
        };
        for (instance, subscription) in subscribers {
            if instance == sender {
                continue;
            }
            self.commands.push_back(Queued {
                instance,
                command: Command::Trigger {
                    subscription,
                    variables: variables.clone(),
                },
                outside: false,
            });
        }
        for (key, node) in starts {
            self.signal_starts.push_back(SignalStart {
                key,
                node,
                variables: variables.clone(),
            });
        }
    }

    /// Queues a cascaded command for `instance`.
    fn tell(&mut self, instance: String, command: Command) {
        self.commands.push_back(Queued {
            instance,
            command,
            outside: false,
        });
    }

    /// Keeps the effects of `instance`'s step that reach other instances, to
    /// be followed before anything queued earlier.
    fn follow(&mut self, instance: &Instance, effects: &[Effect]) {
        let effects: VecDeque<Effect> = effects
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::CallStarted { .. }
                        | Effect::CallCancelled { .. }
                        | Effect::MessageSent { .. }
                        | Effect::SignalSent { .. }
                ) || (instance.parent.is_some()
                    && matches!(
                        e,
                        Effect::ErrorEscaped { .. }
                            | Effect::EscalationEscaped { .. }
                            | Effect::InstanceEnded {
                                state: InstanceState::Completed,
                                ..
                            }
                    ))
            })
            .cloned()
            .collect();
        if !effects.is_empty() {
            self.frames.push(Frame {
                instance: instance.id.clone(),
                parent: instance.parent.clone(),
                effects,
            });
        }
    }

    /// What one effect of `instance`'s step sets off elsewhere: queued, or
    /// (for what needs the driver) returned at once.
    fn route(
        &mut self,
        instance: String,
        parent: Option<ParentLink>,
        effect: Effect,
    ) -> Option<Next> {
        // Only a called instance's steps keep these effects (see `follow`).
        let caller = parent.map(|p| (p.instance, p.token));
        match effect {
            Effect::CallStarted {
                token,
                instance: child,
                key,
                binding,
                variables,
                business_key,
            } => {
                return Some(Next::Call(CallRequest {
                    parent: instance,
                    token,
                    child,
                    key,
                    version: match binding {
                        VersionBinding::Latest => None,
                        VersionBinding::Version(v) => Some(v),
                    },
                    variables,
                    business_key,
                }))
            }
            Effect::CallCancelled { instance: child } => self.tell(child, Command::Cancel),
            Effect::ErrorEscaped { code } => {
                if let Some((parent, token)) = caller {
                    self.tell(parent, Command::CalledInstanceError { token, code });
                }
            }
            Effect::EscalationEscaped { code } => {
                if let Some((parent, token)) = caller {
                    self.tell(parent, Command::CalledInstanceEscalation { token, code });
                }
            }
            Effect::InstanceEnded {
                state: InstanceState::Completed,
                variables,
            } => {
                if let Some((parent, token)) = caller {
                    self.tell(
                        parent,
                        Command::CalledInstanceCompleted { token, variables },
                    );
                }
            }
            Effect::MessageSent {
                name, variables, ..
            } => {
                // The recipient is chosen when the message is delivered, so two
                // messages of one step do not both pick the same subscription.
                self.messages.push_back((name, variables));
            }
            Effect::SignalSent { name, variables } => {
                self.asked = Some(Asked::Signal {
                    sender: instance,
                    variables,
                });
                return Some(Next::FindSignalSubscribers { name });
            }
            _ => {}
        }
        None
    }
}

/// Whether `instance` is the one a message correlates to: it has
/// `business_key` (when given) and process variables equal to `keys`.
pub fn correlates(instance: &Instance, business_key: Option<&str>, keys: &Variables) -> bool {
    if business_key.is_some_and(|bk| instance.business_key.as_deref() != Some(bk)) {
        return false;
    }
    if keys.is_empty() {
        return true;
    }
    let root = instance.root_variables();
    keys.iter()
        .all(|(k, v)| root.get(k).is_some_and(|have| have.same_value(v)))
}

/// Which process a message `name` sent from outside starts when nothing waits
/// for it: the first of `latest` (each key's latest version, in key order)
/// with a message start event of that name, as (key, start event id).
pub fn message_start_among<'a>(
    latest: impl IntoIterator<Item = &'a ProcessDefinition>,
    name: &str,
) -> Option<(String, String)> {
    latest.into_iter().find_map(|def| {
        def.message_start(name)
            .map(|node| (def.key.clone(), node.to_string()))
    })
}

/// Every signal start event of `latest` (each key's latest version) for
/// signal `name`, as (key, start event id): a broadcast starts them all.
pub fn signal_starts_among<'a>(
    latest: impl IntoIterator<Item = &'a ProcessDefinition>,
    name: &str,
) -> Vec<(String, String)> {
    latest
        .into_iter()
        .flat_map(|def| {
            def.signal_starts(name)
                .map(|node| (def.key.clone(), node.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A timer start event's first firing, as scheduled when its version is deployed.
#[derive(Debug, Clone, PartialEq)]
pub struct TimerStart {
    /// The timer start event's BPMN id.
    pub node: String,
    /// When it first fires.
    pub due: DateTime<Utc>,
    /// How many more firings follow this one (`None`: a cycle without end).
    pub remaining: Option<i64>,
}

impl ProcessDefinition {
    /// The start event of this process for message `name`, if it has one.
    pub fn message_start(&self, name: &str) -> Option<&str> {
        self.top_level_starts()
            .find_map(|(id, trigger)| match trigger {
                Trigger::Message(m) if m == name => Some(id),
                _ => None,
            })
    }

    /// The start events of this process for signal `name`.
    pub fn signal_starts<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.top_level_starts()
            .filter_map(move |(id, trigger)| match trigger {
                Trigger::Signal(s) if s == name => Some(id),
                _ => None,
            })
    }

    /// The timer start events of this version, each with its first firing
    /// after a deployment at `now`.
    pub fn timer_starts(&self, now: DateTime<Utc>) -> Vec<TimerStart> {
        self.top_level_starts()
            .filter_map(|(id, trigger)| match trigger {
                Trigger::Timer(TimerSpec::Fixed(value)) => Some(TimerStart {
                    node: id.to_string(),
                    due: value.first_due(now),
                    remaining: match value {
                        TimerValue::Cycle { repetitions, .. } => {
                            repetitions.map(|r| i64::from(r.saturating_sub(1)))
                        }
                        _ => Some(0),
                    },
                }),
                _ => None,
            })
            .collect()
    }

    /// When the timer start event `node` fires next after the firing due at
    /// `due`, if it is a cycle (its repetitions are counted by the caller,
    /// through [`TimerStart::remaining`]).
    pub fn next_timer_start(&self, node: &str, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let ix = self.node_ix(node)?;
        match &self.node(ix).kind {
            NodeKind::StartEvent {
                trigger: Trigger::Timer(TimerSpec::Fixed(TimerValue::Cycle { interval, .. })),
                ..
            } => Some(interval.after(due)),
            _ => None,
        }
    }

    /// The BPMN ids of the nodes `instance` waits at (a task, a catch event,
    /// each event after an event-based gateway, an async or external job),
    /// as scenarios and the API list them.
    pub fn waiting_nodes(&self, instance: &Instance) -> Vec<String> {
        let mut out = Vec::new();
        for (id, t) in &instance.tokens {
            match &t.state {
                TokenState::Waiting(Wait::EventGateway) => {
                    for s in instance.subscriptions.values() {
                        if s.target == (SubscriptionTarget::EventGateway { token: *id }) {
                            out.push(self.node(s.node).id.clone());
                        }
                    }
                }
                TokenState::Waiting(_) => out.push(self.node(t.node).id.clone()),
                _ => {}
            }
        }
        out
    }

    /// The process's top-level start events with their triggers.
    fn top_level_starts(&self) -> impl Iterator<Item = (&str, &Trigger)> {
        self.scopes[0]
            .nodes
            .iter()
            .filter_map(|&n| match &self.node(n).kind {
                NodeKind::StartEvent { trigger, .. } => Some((self.node(n).id.as_str(), trigger)),
                _ => None,
            })
    }
}
