//! `antrian` (the open cases by due date, overdue first) and `hariini` (today's numbers).

use super::{due_unit, time_left, workflow};
use crate::admin::apply::Draft;
use crate::cases::{Case, Service};
use crate::plan::PlanContext;
use crate::store::{QueueKey, StoreError};
use chrono::Duration;

/// `antrian`: every open case by due date, overdue first, with its stage and time left.
pub(in crate::admin) fn open_cases(d: &mut Draft) -> Result<(), StoreError> {
    let mut cases = d.ctx.store.open_cases()?;
    cases.sort_by_key(|c| (c.due().is_none(), c.due(), c.created_at));
    let text = if cases.is_empty() {
        d.word("admin_queue_empty", &[])
    } else {
        let lines: Vec<String> = cases.iter().map(|c| queue_line(d.ctx, c)).collect();
        d.word(
            "admin_queue",
            &[
                ("count", cases.len().to_string()),
                ("lines", lines.join("\n")),
            ],
        )
    };
    d.say(text);
    Ok(())
}

/// One open case in the queue.
fn queue_line(ctx: &PlanContext, c: &Case) -> String {
    let bot = ctx.bot;
    let lang = bot.default_lang();
    let stage = bot.stage_label(c.number.service, &c.stage, lang);
    let due = match c.due() {
        Some(d) => format!(
            "{} ({})",
            bot.calendar.format_local(d, lang),
            time_left(ctx, d, ctx.now, due_unit(workflow(ctx, c), c))
        ),
        None => ctx.officer_text("admin_no_due_date", &[]),
    };
    let who = c
        .assignee
        .as_deref()
        .map(|a| format!(" · {a}"))
        .unwrap_or_default();
    ctx.officer_text(
        "admin_queue_line",
        &[
            ("case", c.number.to_string()),
            ("stage", stage),
            ("who", who),
            ("due", due),
            ("title", c.title.clone()),
        ],
    )
}

/// `hariini`: new cases per service, open and overdue cases, visitors, queues.
pub(in crate::admin) fn today(d: &mut Draft) -> Result<(), StoreError> {
    let ctx = d.ctx;
    let now = ctx.now;
    let cal = &ctx.bot.calendar;
    let local = cal.local(now);
    let start = cal.to_utc(local.date().and_hms_opt(0, 0, 0).expect("midnight exists"));
    let new = ctx
        .store
        .cases_created_between(start, start + Duration::days(1))?;
    let open = ctx.store.open_cases()?;
    let overdue = open
        .iter()
        .filter(|c| c.due().is_some_and(|d| d < now))
        .count();
    let visits = ctx
        .store
        .visits()?
        .into_iter()
        .filter(|v| v.at >= start && v.at < now + Duration::seconds(1))
        .count();
    let word = |key: &str, vars: &[(&str, String)]| ctx.officer_text(key, vars);
    let date = crate::cases::calendar::format_date(local.date(), "id", true);
    let mut lines = vec![word("admin_today", &[("date", date)])];
    for s in Service::ALL {
        let n = new.iter().filter(|c| c.number.service == s).count();
        let o = open.iter().filter(|c| c.number.service == s).count();
        lines.push(word(
            "admin_today_service",
            &[
                ("service", s.prefix().to_string()),
                ("new", n.to_string()),
                ("open", o.to_string()),
            ],
        ));
    }
    lines.push(word(
        "admin_today_overdue",
        &[("count", overdue.to_string())],
    ));
    lines.push(word(
        "admin_today_visitors",
        &[("count", visits.to_string())],
    ));
    for letter in ['R', 'P', 'A', 'U'] {
        let (issued, called) = ctx.store.queue_status(&QueueKey {
            letter,
            day: local.date(),
        })?;
        if issued > 0 {
            lines.push(word(
                "admin_today_queue",
                &[
                    ("letter", letter.to_string()),
                    ("issued", issued.to_string()),
                    ("called", called.to_string()),
                ],
            ));
        }
    }
    d.say(lines.join("\n"));
    Ok(())
}
