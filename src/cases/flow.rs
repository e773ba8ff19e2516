//! Moving a case through its workflow: pure functions that check a transition (state, role,
//! note) and compute the case after it — stage, due dates on the office calendar, clock stops,
//! history. No I/O; the runtime stores the result in one commit.

use super::calendar::OfficeCalendar;
use super::workflow::{Actor, NoteRule, Transition, TransitionKind, Workflow};
use super::{Actor as HistoryActor, Case, CaseEvent};
use chrono::{DateTime, Utc};

/// Why a transition was refused. Nothing changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowError {
    /// The case is closed.
    Closed,
    /// No transition of that name in this workflow.
    UnknownTransition(String),
    /// The transition exists but does not leave the case's current stage.
    NotFromHere { transition: String, stage: String },
    /// Nobody with the actor's roles may take it.
    NotAllowed { transition: String },
    /// The transition needs a note (a reason) and none was given.
    NoteRequired { transition: String },
    /// No transition of that kind leaves the current stage (e.g. nothing to escalate).
    NoneOfKind { kind: TransitionKind, stage: String },
}

/// Who is acting: an officer (by id, with roles) or the applicant.
#[derive(Debug, Clone)]
pub enum Who<'a> {
    Officer {
        id: &'a str,
        roles: &'a [crate::config::Role],
    },
    Applicant,
}

impl Who<'_> {
    fn may(&self, t: &Transition) -> bool {
        t.actors.iter().any(|a| match (a, self) {
            (Actor::Applicant, Who::Applicant) => true,
            (Actor::Officer(r), Who::Officer { roles, .. }) => roles.contains(r),
            _ => false,
        })
    }

    fn history_actor(&self) -> HistoryActor {
        match self {
            Who::Officer { id, .. } => HistoryActor::Officer(id.to_string()),
            Who::Applicant => HistoryActor::Applicant,
        }
    }
}

/// The due dates of a case in a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dues {
    pub stage_due: Option<DateTime<Utc>>,
    pub overall_start: Option<DateTime<Utc>>,
    pub overall_due: Option<DateTime<Utc>>,
}

/// The deadlines of a stay in a stage by the workflow's SLA clock, before anything decides
/// whether they still apply: the one home of that arithmetic. The workflow engine sets them on
/// a case as it moves ([`dues`]); the monthly report checks after the fact whether a case was
/// past them (`reports::monthly`), so the two cannot count differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// The stage's own SLA from the stay's entry, for a stage whose clock runs and has one.
    pub stage: Option<DateTime<Utc>>,
    /// The workflow's overall SLA from `overall_start`, the clock stops since then excluded.
    pub overall: Option<DateTime<Utc>>,
}

/// The deadlines of a stay in `stage` entered at `entered`, for a case whose overall clock
/// started at `overall_start` (none yet: no overall deadline) and stopped during `stops`
/// (stops that began before the overall start do not count).
pub fn deadlines(
    wf: &Workflow,
    cal: &OfficeCalendar,
    stage: &str,
    entered: DateTime<Utc>,
    overall_start: Option<DateTime<Utc>>,
    stops: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
) -> Deadlines {
    let stage = wf
        .state(stage)
        .filter(|s| s.clock_runs)
        .and_then(|s| s.sla)
        .map(|sla| cal.due(entered, sla));
    let overall = match (&wf.overall, overall_start) {
        (Some(o), Some(start)) => {
            let since: Vec<_> = stops
                .iter()
                .copied()
                .filter(|(from, _)| *from >= start)
                .collect();
            cal.due_excluding(start, o.sla, &since)
        }
        _ => None,
    };
    Deadlines { stage, overall }
}

/// Due dates of a case created at `created` entering `stage` at `now`: the stage's SLA (from
/// `now`, or from `created` for a stage whose SLA counts from the case's creation), and the
/// overall SLA counted from its first entry into the overall start state with the clock stops
/// excluded.
pub fn dues(
    wf: &Workflow,
    cal: &OfficeCalendar,
    stage: &str,
    now: DateTime<Utc>,
    created: DateTime<Utc>,
    overall_start: Option<DateTime<Utc>>,
    stops: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
) -> Dues {
    let overall_start = match (&wf.overall, overall_start) {
        (Some(o), None) if o.from == stage => Some(now),
        (_, s) => s,
    };
    let d = deadlines(
        wf,
        cal,
        stage,
        sla_start(wf, stage, now, created),
        overall_start,
        stops,
    );
    // Once the result is delivered (a rating is asked) the overall standard has been met.
    // Nor is there one while a stay that pauses it lasts (its length is not known yet).
    let paused = overall_start.is_some() && wf.state(stage).is_some_and(|s| s.pauses_overall);
    let overall_open = !paused
        && wf
            .state(stage)
            .is_some_and(|s| !s.is_final && !s.ask_rating);
    Dues {
        stage_due: d.stage,
        overall_start,
        overall_due: d.overall.filter(|_| overall_open),
    }
}

/// When the SLA of a stay in `stage` entered at `entered` starts: the entry, or the case's
/// creation for a stage whose SLA counts from it (`sla_from = "created"`).
pub fn sla_start(
    wf: &Workflow,
    stage: &str,
    entered: DateTime<Utc>,
    created: DateTime<Utc>,
) -> DateTime<Utc> {
    if wf.state(stage).is_some_and(|s| s.sla_from_created) {
        created
    } else {
        entered
    }
}

/// Finds the transition an officer or applicant named (by id) or asked for (by kind).
pub fn find<'a>(wf: &'a Workflow, case: &Case, by: Find<'_>) -> Result<&'a Transition, FlowError> {
    match by {
        Find::Id(id) => {
            let t = wf
                .transition(id)
                .ok_or_else(|| FlowError::UnknownTransition(id.to_string()))?;
            if !t.from.contains(&case.stage) {
                return Err(FlowError::NotFromHere {
                    transition: t.id.clone(),
                    stage: case.stage.clone(),
                });
            }
            Ok(t)
        }
        Find::Kind(kind, who) => {
            let mut candidates = wf.from_state(&case.stage).filter(|t| t.kind == kind);
            let first = candidates.next().ok_or(FlowError::NoneOfKind {
                kind,
                stage: case.stage.clone(),
            })?;
            if who.may(first) {
                return Ok(first);
            }
            candidates
                .find(|t| who.may(t))
                .ok_or(FlowError::NotAllowed {
                    transition: first.id.clone(),
                })
        }
    }
}

/// How a transition is named.
pub enum Find<'a> {
    Id(&'a str),
    Kind(TransitionKind, &'a Who<'a>),
}

/// The case after taking `t` at `now`. Checks that the case is open, the transition leaves
/// the current stage, the actor may take it, and a required note is there.
pub fn apply(
    wf: &Workflow,
    cal: &OfficeCalendar,
    case: &Case,
    t: &Transition,
    who: &Who,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Case, FlowError> {
    if !case.open {
        return Err(FlowError::Closed);
    }
    if !t.from.contains(&case.stage) {
        return Err(FlowError::NotFromHere {
            transition: t.id.clone(),
            stage: case.stage.clone(),
        });
    }
    if !who.may(t) {
        return Err(FlowError::NotAllowed {
            transition: t.id.clone(),
        });
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if t.note == NoteRule::Required && note.is_none() {
        return Err(FlowError::NoteRequired {
            transition: t.id.clone(),
        });
    }
    let mut next = case.clone();
    // Close an open clock stop; open one when the new state waits on the applicant.
    if let Some(last) = next.stops.last_mut()
        && last.1.is_none()
    {
        last.1 = Some(now);
    }
    let to = wf
        .state(&t.to)
        .expect("validated: transitions name existing states");
    // Leaving a stay that paused the overall clock (issue 20, item 14): it is excluded like a
    // stop, joined to the stop it followed (the applicant's revision) so the two are one.
    if next.overall_start.is_some() && wf.state(&case.stage).is_some_and(|s| s.pauses_overall) {
        match next.stops.last_mut() {
            Some(last) if last.1 == Some(case.stage_since) => last.1 = Some(now),
            _ => next.stops.push((case.stage_since, Some(now))),
        }
    }
    if !to.clock_runs {
        next.stops.push((now, None));
    }
    let d = dues(
        wf,
        cal,
        &t.to,
        now,
        next.created_at,
        next.overall_start,
        &next.stops,
    );
    next.stage = t.to.clone();
    next.stage_since = now;
    next.stage_due = d.stage_due;
    next.overall_start = d.overall_start;
    next.overall_due = d.overall_due;
    next.open = !to.is_final;
    next.history.push(CaseEvent {
        at: now,
        actor: who.history_actor(),
        kind: t.id.clone(),
        note: if t.note == NoteRule::None {
            None
        } else {
            note.map(str::to_string)
        },
    });
    // The version is bumped once per commit by whoever writes the case.
    Ok(next)
}
