//! The reminders of SPEC §5, as pure functions: which timers a case, an appointment or an open
//! conversation should have, and what a timer says when it fires.
//!
//! Timers are recomputed from the case every time a commit writes it, so a case that moves on
//! loses the reminders of the stage it left and gets those of the new one. Timer ids name the
//! stage entry they belong to; one that already fired is never stored again (the store checks
//! its dedupe mark), so recomputing never repeats a reminder.
//!
//! Officers' reminders fall inside service hours (moved to the next opening otherwise);
//! applicants' never fall inside the quiet hours (moved to their end).

use crate::cases::calendar::OfficeCalendar;
use crate::cases::{Case, CaseNumber};
use crate::config::{DayHours, RemindersConfig};
use crate::dialogs::Bot;
use crate::message::Identity;
use crate::store::records::case_owner;
use crate::store::{Reminder, Timer, TimerSet};
use chrono::{DateTime, Duration, Utc};

pub mod fire;

/// A time officers can be reminded at: `t` when the office is open then (or it is exactly the
/// closing time), else the next opening.
pub fn officer_time(cal: &OfficeCalendar, t: DateTime<Utc>) -> DateTime<Utc> {
    if cal.is_open_at(t) || cal.is_open_at(t - Duration::seconds(1)) {
        t
    } else {
        cal.next_opening(t)
    }
}

/// A time an applicant can be reminded at: `t`, or the end of the quiet hours it falls in.
pub fn applicant_time(cal: &OfficeCalendar, quiet: &DayHours, t: DateTime<Utc>) -> DateTime<Utc> {
    let local = cal.local(t);
    let tod = local.time();
    let wraps = quiet.open > quiet.close;
    let inside = if wraps {
        tod >= quiet.open || tod < quiet.close
    } else {
        tod >= quiet.open && tod < quiet.close
    };
    if !inside {
        return t;
    }
    let day = if wraps && tod >= quiet.open {
        local.date().succ_opt().unwrap_or(local.date())
    } else {
        local.date()
    };
    cal.to_utc(day.and_time(quiet.close))
}

/// The point at `percent`% of the service time between `since` and `due`.
fn share_of(
    cal: &OfficeCalendar,
    since: DateTime<Utc>,
    due: DateTime<Utc>,
    percent: u32,
) -> DateTime<Utc> {
    let total = cal.working_time_between(since, due, &[]);
    if total <= Duration::zero() {
        // A calendar-time SLA inside closed hours: share the plain time.
        return since + (due - since) * percent as i32 / 100;
    }
    cal.add_working_time(since, total * percent as i32 / 100)
}

/// The `day`-th overdue reminder of a stage due at `due`.
fn overdue_at(
    cal: &OfficeCalendar,
    r: &RemindersConfig,
    due: DateTime<Utc>,
    day: u32,
) -> DateTime<Utc> {
    officer_time(
        cal,
        due + Duration::hours(i64::from(r.overdue_every_hours) * i64::from(day)),
    )
}

/// The timers `case` should have as a commit at `now` leaves it.
pub fn case_timers(bot: &Bot, case: &Case, now: DateTime<Utc>) -> Vec<Timer> {
    let r = &bot.reminders;
    let cal = &bot.calendar;
    let Some(wf) = bot.workflows.get(&case.number.service) else {
        return Vec::new();
    };
    let Some(state) = wf.state(&case.stage) else {
        return Vec::new();
    };
    if !r.enabled || !case.open || state.is_final {
        return Vec::new();
    }
    let owner = case_owner(&case.number);
    let entry = format!("{}@{}", case.stage, case.stage_since.timestamp_millis());
    let n = &case.number;
    let mut out = Vec::new();
    let mut push = |what: Reminder, due: DateTime<Utc>, tag: String| {
        out.push(Timer {
            id: format!("{owner}/{entry}/{tag}"),
            owner: owner.clone(),
            due,
            what,
        })
    };
    // Only a new case: one back in the start stage (after a revision) was announced before.
    if case.stage == wf.start && case.stage_since == case.created_at && case.assignee.is_none() {
        let at = cal.add_working_time(
            case.created_at,
            Duration::minutes(i64::from(r.acknowledge_within_minutes)),
        );
        push(
            Reminder::Unacknowledged { case: n.clone() },
            officer_time(cal, at),
            "ack".into(),
        );
    }
    if state.clock_runs
        && let Some(due) = case.stage_due
    {
        for p in r.stage_percents.iter().copied().chain([100]) {
            let at = if p == 100 {
                due
            } else {
                share_of(cal, case.stage_since, due, p)
            };
            push(
                Reminder::StageProgress {
                    case: n.clone(),
                    stage: case.stage.clone(),
                    percent: p,
                },
                officer_time(cal, at),
                format!("p{p}"),
            );
        }
        if r.overdue_every_hours > 0 {
            // Only the next overdue reminder is kept; firing it writes the case, which
            // schedules the one after.
            let mut day = 1;
            while overdue_at(cal, r, due, day) <= now && day < 10_000 {
                day += 1;
            }
            push(
                Reminder::Overdue {
                    case: n.clone(),
                    stage: case.stage.clone(),
                    day,
                },
                overdue_at(cal, r, due, day),
                format!("late{day}"),
            );
        }
    }
    if !state.clock_runs {
        for (i, days) in r.applicant_pending_working_days.iter().enumerate() {
            let at = cal.add_working_days(case.stage_since, *days);
            push(
                Reminder::ApplicantPending {
                    case: n.clone(),
                    stage: case.stage.clone(),
                    nth: i as u32 + 1,
                },
                applicant_time(cal, &r.quiet_hours, at),
                format!("wait{}", i + 1),
            );
        }
    }
    if state.ask_rating && r.rating_again_after_hours > 0 {
        let at = case.stage_since + Duration::hours(i64::from(r.rating_again_after_hours));
        push(
            Reminder::RatingAgain {
                case: n.clone(),
                stage: case.stage.clone(),
            },
            applicant_time(cal, &r.quiet_hours, at),
            "rate".into(),
        );
    }
    out
}

/// The reminders of an appointment booked at `booked_at` for `at`.
pub fn appointment_timers(
    bot: &Bot,
    who: &Identity,
    guest_id: &str,
    booked_at: DateTime<Utc>,
    at: DateTime<Utc>,
    topic: &str,
) -> TimerSet {
    let r = &bot.reminders;
    let owner = format!("appt:{guest_id}:{}", at.timestamp_millis());
    let mut timers = Vec::new();
    if r.enabled {
        for h in &r.appointment_hours_before {
            let when = applicant_time(
                &bot.calendar,
                &r.quiet_hours,
                at - Duration::hours(i64::from(*h)),
            );
            if when > booked_at && when < at {
                timers.push(Timer {
                    id: format!("{owner}/h{h}"),
                    owner: owner.clone(),
                    due: when,
                    what: Reminder::Appointment {
                        who: who.clone(),
                        at,
                        topic: topic.to_string(),
                        hours_before: *h,
                    },
                });
            }
        }
    }
    TimerSet { owner, timers }
}

/// The idle-close timer of a conversation last active at `last_seen` (none when no dialog is
/// open: there is nothing to close).
pub fn idle_timer(
    bot: &Bot,
    who: &Identity,
    last_seen: DateTime<Utc>,
    in_dialog: bool,
) -> TimerSet {
    let owner = format!("idle:{who}");
    let mut timers = Vec::new();
    if in_dialog {
        let at = applicant_time(
            &bot.calendar,
            &bot.reminders.quiet_hours,
            last_seen + bot.idle_timeout,
        );
        timers.push(Timer {
            id: format!("{owner}/{}", last_seen.timestamp_millis()),
            owner: owner.clone(),
            due: at,
            what: Reminder::IdleClose {
                who: who.clone(),
                last_seen,
            },
        });
    }
    TimerSet { owner, timers }
}

/// Whether a stage-progress reminder fired late enough that a later one of the same stage is
/// also already due (the clock jumped, or the service was down): then only the latest is sent.
pub fn superseded(bot: &Bot, case: &Case, percent: u32, now: DateTime<Utc>) -> bool {
    // `case_timers` always schedules the next overdue reminder after `now`, so whether one is
    // already due is asked of the first one.
    let r = &bot.reminders;
    let overdue = r.overdue_every_hours > 0
        && case
            .stage_due
            .is_some_and(|due| overdue_at(&bot.calendar, r, due, 1) <= now);
    overdue
        || case_timers(bot, case, now).iter().any(|t| match &t.what {
            Reminder::StageProgress { percent: p, .. } => *p > percent && t.due <= now,
            _ => false,
        })
}

/// The case a reminder is about, with the stage it was set for.
pub fn case_of(r: &Reminder) -> Option<(&CaseNumber, Option<&str>)> {
    match r {
        Reminder::Unacknowledged { case } => Some((case, None)),
        Reminder::StageProgress { case, stage, .. }
        | Reminder::Overdue { case, stage, .. }
        | Reminder::ApplicantPending { case, stage, .. }
        | Reminder::RatingAgain { case, stage } => Some((case, Some(stage))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::calendar::tests::wib;

    fn cal() -> OfficeCalendar {
        crate::cases::calendar::tests::calendar()
    }

    #[test]
    fn quiet_hours_push_night_reminders_to_the_morning() {
        let c = cal();
        let q = RemindersConfig::default().quiet_hours;
        assert_eq!(
            applicant_time(&c, &q, wib(2026, 11, 23, 22, 30)),
            wib(2026, 11, 24, 7, 0)
        );
        assert_eq!(
            applicant_time(&c, &q, wib(2026, 11, 24, 3, 0)),
            wib(2026, 11, 24, 7, 0)
        );
        assert_eq!(
            applicant_time(&c, &q, wib(2026, 11, 24, 7, 0)),
            wib(2026, 11, 24, 7, 0)
        );
        assert_eq!(
            applicant_time(&c, &q, wib(2026, 11, 24, 20, 59)),
            wib(2026, 11, 24, 20, 59)
        );
    }

    #[test]
    fn officers_are_reminded_only_in_service_hours() {
        let c = cal();
        // Saturday evening → Monday opening.
        let sat = wib(2026, 11, 28, 19, 0);
        let at = officer_time(&c, sat);
        assert!(c.is_open_at(at));
        assert!(at > sat);
        let open = wib(2026, 11, 23, 10, 0);
        assert_eq!(officer_time(&c, open), open);
    }
}
