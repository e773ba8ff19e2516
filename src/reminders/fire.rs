//! What a timer does when it fires, planned: the idle close of a conversation, an appointment
//! reminder, a case reminder. The runtime fires the timer like an inbound message — one commit
//! holds its dedupe mark (`timer:ID`), its removal from the due index, the case history entry
//! and the reminder messages in the outbox — so it fires exactly once, even across a crash.

use crate::cases::{Actor, Case, CaseEvent};
use crate::config::{OfficerConfig, Role};
use crate::message::{Identity, OutboundMessage, Topic};
use crate::plan::{CaseEdits, Plan, PlanContext};
use crate::store::{Commit, DedupeKey, Reminder, StoreError, Timer, TimerSet, records::case_owner};
use crate::text::fill;
use chrono::{DateTime, Utc};

/// The person whose conversation a timer reads or changes (the runtime fires it in their turn).
pub fn person_of(what: &Reminder) -> Option<&Identity> {
    match what {
        Reminder::IdleClose { who, .. } | Reminder::Appointment { who, .. } => Some(who),
        _ => None,
    }
}

/// Plans what a due timer does: the idle close of a conversation, an appointment reminder, or a
/// case reminder (said only while the case is still in the stage it was set for, and recorded
/// on the case). The runtime commits it with the timer's dedupe mark.
pub fn timer_plan(ctx: &PlanContext, timer: &Timer) -> Result<Plan, StoreError> {
    let bot = ctx.bot;
    let now = ctx.now;
    if officers_reminder(&timer.what) {
        let at = crate::reminders::officer_time(&bot.calendar, now);
        if at > now {
            return postpone(ctx, timer, at);
        }
    }
    let mut commit = Commit::for_timer(timer, now);
    let mut out: Vec<OutboundMessage> = Vec::new();
    match &timer.what {
        Reminder::IdleClose { who, last_seen } => {
            if let Some(mut conv) = ctx.store.session(who)?
                && conv.active.is_some()
                && conv.last_seen == Some(*last_seen)
            {
                conv.active = None;
                out.push(OutboundMessage::text(
                    who.clone(),
                    bot.sys("idle_closed_later", &conv.lang),
                ));
                commit.who = who.clone();
                commit.session = Some(conv);
            }
        }
        Reminder::Appointment { who, at, topic, .. } => {
            let lang = ctx.lang_of(who)?;
            let when = bot.calendar.format_local(*at, &lang);
            out.push(
                OutboundMessage::text(
                    who.clone(),
                    fill(
                        &bot.sys("reminder_appointment", &lang),
                        &[
                            ("office", bot.office_name.clone()),
                            ("when", when.clone()),
                            ("topic", topic.clone()),
                        ],
                    ),
                )
                .about(Topic::plain(
                    "reminder_appointment",
                    vec![bot.office_name.clone(), when, topic.clone()],
                )),
            );
        }
        what => {
            let mut edits = CaseEdits::new();
            if let Some((n, _)) = crate::reminders::case_of(what)
                && let Some(case) = edits.get(ctx.store, n)?
            {
                let entry = format!(
                    "{}/{}@{}/",
                    case_owner(n),
                    case.stage,
                    case.stage_since.timestamp_millis()
                );
                // A reminder of a stage the case has left (or a closed case) says nothing.
                if case.open && timer.id.starts_with(&entry) {
                    let msgs = case_reminder(ctx, case, what);
                    if !msgs.is_empty() {
                        case.history.push(CaseEvent {
                            at: now,
                            actor: Actor::System,
                            kind: "reminder".into(),
                            note: Some(kind_name(what).to_string()),
                        });
                    }
                    out.extend(msgs);
                }
            }
            // Only a reminder that said something is recorded on the case (and so
            // reschedules its timers); a silent one leaves the case and its other
            // timers as they are.
            if !out.is_empty() {
                edits.into_commit(&mut commit);
            }
        }
    }
    Ok(Plan {
        commit,
        render: Box::new(move |_| out.clone()),
    })
}

/// Whether a reminder is for the officers (said in service hours only).
fn officers_reminder(what: &Reminder) -> bool {
    matches!(
        what,
        Reminder::Unacknowledged { .. } | Reminder::StageProgress { .. } | Reminder::Overdue { .. }
    )
}

/// An officers' reminder that fell due while the office is closed — planned inside service
/// hours, but the service was down then and came back on a holiday or at night — waits for
/// the next opening (issue 20, item 1): its timer is stored again at `at`, not fired, so it
/// fires then (and says nothing when a later one has superseded it). The commit's own mark
/// names the instant, so postponing again later (the case rewrote its timers) is not taken
/// for a repeat.
fn postpone(ctx: &PlanContext, timer: &Timer, at: DateTime<Utc>) -> Result<Plan, StoreError> {
    let mut commit = Commit::for_timer(timer, ctx.now);
    commit.dedupe = DedupeKey(format!("wait:{}@{}", timer.id, ctx.now.timestamp_millis()));
    commit.fired = None;
    // Every officers' reminder of the owner already due moves together: timers due at once
    // are fired side by side, each commit replacing the owner's set.
    let mut timers = ctx.store.timers_of(&timer.owner)?;
    for t in timers
        .iter_mut()
        .filter(|t| t.id == timer.id || (t.due <= ctx.now && officers_reminder(&t.what)))
    {
        t.due = at;
    }
    commit.timers.push(TimerSet {
        owner: timer.owner.clone(),
        timers,
    });
    Ok(Plan {
        commit,
        render: Box::new(|_| Vec::new()),
    })
}

/// The messages of a case reminder (none when it no longer applies).
fn case_reminder(ctx: &PlanContext, case: &Case, what: &Reminder) -> Vec<OutboundMessage> {
    let bot = ctx.bot;
    let now = ctx.now;
    let n = &case.number;
    let id_label = bot.stage_label(n.service, &case.stage, "id");
    let en_label = bot.stage_label(n.service, &case.stage, "en");
    let due = case
        .stage_due
        .map(|d| bot.calendar.format_local(d, "id"))
        .unwrap_or_else(|| "-".into());
    let who_has_it = case
        .assignee
        .as_deref()
        .and_then(|a| ctx.officers.iter().find(|o| o.id == a))
        .map(|o| format!(" — {}", o.name))
        .unwrap_or_default();
    let officers = |text: String| vec![OutboundMessage::text(Identity::officers(), text)];
    // The words every officers' reminder of this case's stage fills in.
    let stage_vars = |extra: &[(&'static str, String)]| {
        let mut vars = vec![
            ("case", n.to_string()),
            ("stage_id", id_label.clone()),
            ("stage_en", en_label.clone()),
            ("due", due.clone()),
            ("officer", who_has_it.clone()),
        ];
        vars.extend_from_slice(extra);
        vars
    };
    match what {
        Reminder::Unacknowledged { .. } => {
            if case.assignee.is_some() {
                return Vec::new();
            }
            officers(ctx.officer_text(
                "officers_reminder_unacknowledged",
                &[("case", n.to_string()), ("title", case.title.clone())],
            ))
        }
        Reminder::StageProgress { percent, .. } => {
            if crate::reminders::superseded(bot, case, *percent, now) {
                return Vec::new();
            }
            if *percent >= 100 {
                officers(ctx.officer_text("officers_reminder_stage_due", &stage_vars(&[])))
            } else {
                officers(ctx.officer_text(
                    "officers_reminder_stage_progress",
                    &stage_vars(&[("percent", percent.to_string())]),
                ))
            }
        }
        Reminder::Overdue { .. } => {
            // Counted from the due time, so a reminder sent late (after an outage or a
            // clock jump) still tells how late the stage is.
            let every = i64::from(bot.reminders.overdue_every_hours.max(1));
            let day = case
                .stage_due
                .map(|d| ((now - d).num_hours() / every).max(1))
                .unwrap_or(1);
            let chiefs: Vec<&OfficerConfig> = ctx
                .officers
                .iter()
                .filter(|o| o.roles.contains(&Role::Pimpinan))
                .collect();
            let names: Vec<&str> = chiefs.iter().map(|o| o.name.as_str()).collect();
            let chief_names = if names.is_empty() {
                "-".to_string()
            } else {
                names.join(", ")
            };
            let text = ctx.officer_text(
                "officers_reminder_overdue",
                &stage_vars(&[("day", day.to_string()), ("chiefs", chief_names)]),
            );
            let mut msgs = officers(text.clone());
            for chief in chiefs {
                if let Some(to) = ctx.officer_ids.reach(chief) {
                    msgs.push(OutboundMessage::text(to, text.clone()).about(Topic::case(
                        "officer_reminder",
                        n,
                        &[day.to_string()],
                    )));
                }
            }
            msgs
        }
        Reminder::ApplicantPending { .. } => {
            let lang = case.lang.as_str();
            let stage = bot.stage_label(n.service, &case.stage, lang);
            vec![
                OutboundMessage::text(
                    case.origin.clone(),
                    fill(
                        &bot.sys("reminder_pending", lang),
                        &[("case", n.to_string()), ("stage", stage.clone())],
                    ),
                )
                .about(Topic::case("reminder_pending", n, &[stage])),
            ]
        }
        Reminder::RatingAgain { .. } => vec![
            OutboundMessage::text(
                case.origin.clone(),
                fill(
                    &bot.sys("reminder_rating", &case.lang),
                    &[("case", n.to_string())],
                ),
            )
            .about(Topic::case("reminder_rating", n, &[])),
        ],
        Reminder::Appointment { .. } | Reminder::IdleClose { .. } => Vec::new(),
    }
}

/// A short name of a reminder for logs and case history.
pub fn kind_name(r: &Reminder) -> &'static str {
    match r {
        Reminder::Unacknowledged { .. } => "unacknowledged",
        Reminder::StageProgress { percent, .. } if *percent >= 100 => "stage_due",
        Reminder::StageProgress { .. } => "stage_progress",
        Reminder::Overdue { .. } => "overdue",
        Reminder::ApplicantPending { .. } => "applicant_pending",
        Reminder::RatingAgain { .. } => "rating_again",
        Reminder::Appointment { .. } => "appointment",
        Reminder::IdleClose { .. } => "idle_close",
    }
}
