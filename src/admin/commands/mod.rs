//! The officers' commands, one file per family: what each does to the plan, and its answers.
//! Each family gets the [`Draft`](super::apply::Draft) of the message being planned.

pub(super) mod assign;
pub(super) mod case_view;
pub(super) mod moves;
pub(super) mod queue;
pub(super) mod reply;
pub(super) mod report;
pub(super) mod send;
pub(super) mod visitor;

use crate::cases::Case;
use crate::cases::sla::SlaUnit;
use crate::cases::workflow::Workflow;
use crate::plan::PlanContext;
use chrono::{DateTime, Utc};

/// The workflow a case follows.
fn workflow<'a>(ctx: &PlanContext<'a>, c: &Case) -> &'a Workflow {
    ctx.bot
        .workflows
        .get(&c.number.service)
        .expect("every service has a workflow (checked at start-up)")
}

/// An officer's free words (a note, a reason), or `None` when there are none.
fn join(words: Vec<String>) -> Option<String> {
    let s = words.join(" ");
    (!s.trim().is_empty()).then_some(s)
}

/// How long until (or since) a due instant, in the unit of the SLA that set it (issue 20,
/// item 3): hours and minutes for an hour SLA (service time for `working_hours`, real time for
/// `hours`), working days for `working_days`, days for `days`. Without a unit (an older case),
/// working days, or hours and minutes within the last working day.
fn time_left(
    ctx: &PlanContext,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    unit: Option<SlaUnit>,
) -> String {
    let cal = &ctx.bot.calendar;
    let word = |key: &str, vars: &[(&str, String)]| ctx.officer_text(key, vars);
    let hm = |mins: i64| word("admin_time_left", &[("time", format_hm(mins))]);
    if due <= now {
        let late = match unit {
            Some(SlaUnit::Hours | SlaUnit::WorkingHours) => 0,
            _ => cal.working_days_between(due, now),
        };
        return if late == 0 {
            word("admin_overdue", &[])
        } else {
            word("admin_overdue_days", &[("days", late.to_string())])
        };
    }
    match unit {
        Some(SlaUnit::Hours) => return hm((due - now).num_minutes()),
        Some(SlaUnit::WorkingHours) => {
            return hm(cal.working_time_between(now, due, &[]).num_minutes());
        }
        Some(SlaUnit::Days) => {
            let days = (due - now).num_days();
            if days >= 1 {
                return word("admin_calendar_days_left", &[("days", days.to_string())]);
            }
            return hm((due - now).num_minutes());
        }
        Some(SlaUnit::WorkingDays) | None => {}
    }
    let days = cal.working_days_between(now, due);
    if days >= 1 {
        word("admin_days_left", &[("days", days.to_string())])
    } else {
        let mins = cal
            .working_time_between(now, due, &[])
            .num_minutes()
            .max((due - now).num_minutes().min(0));
        hm(mins)
    }
}

/// The unit of the SLA behind a case's stage due date.
fn stage_unit(wf: &Workflow, c: &Case) -> Option<SlaUnit> {
    wf.state(&c.stage).and_then(|s| s.sla).map(|s| s.unit)
}

/// The unit of the SLA behind a case's overall (SOP) due date.
fn overall_unit(wf: &Workflow) -> Option<SlaUnit> {
    wf.overall.as_ref().map(|o| o.sla.unit)
}

/// The unit of [`Case::due`], the earlier of the stage and overall due dates.
fn due_unit(wf: &Workflow, c: &Case) -> Option<SlaUnit> {
    match (c.stage_due, c.overall_due) {
        (Some(s), Some(o)) if o < s => overall_unit(wf),
        (Some(_), _) => stage_unit(wf, c),
        (None, _) => overall_unit(wf),
    }
}

fn format_hm(mins: i64) -> String {
    format!("{}:{:02}", mins / 60, mins % 60)
}
