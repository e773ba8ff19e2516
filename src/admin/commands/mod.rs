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

/// How long until (or since) a due instant, in the office's working terms.
fn time_left(ctx: &PlanContext, due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let cal = &ctx.bot.calendar;
    let word = |key: &str, vars: &[(&str, String)]| ctx.officer_text(key, vars);
    if due <= now {
        let late = cal.working_days_between(due, now);
        return if late == 0 {
            word("admin_overdue", &[])
        } else {
            word("admin_overdue_days", &[("days", late.to_string())])
        };
    }
    let days = cal.working_days_between(now, due);
    if days >= 1 {
        word("admin_days_left", &[("days", days.to_string())])
    } else {
        let mins = cal
            .working_time_between(now, due, &[])
            .num_minutes()
            .max((due - now).num_minutes().min(0));
        word("admin_time_left", &[("time", format_hm(mins))])
    }
}

fn format_hm(mins: i64) -> String {
    format!("{}:{:02}", mins / 60, mins % 60)
}
