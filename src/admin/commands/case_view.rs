//! `lihat` (a case in full, recorded in the audit log) and `audit` (the log of officers'
//! access to personal data).

use super::moves::next_steps;
use super::{overall_unit, stage_unit, time_left, workflow};
use crate::admin::apply::Draft;
use crate::cases::{Actor, Answer, Case};
use crate::config::Role;
use crate::store::{AuditEntry, StoreError};
use crate::text::pick;

/// Who may read the audit log of access to personal data.
const AUDIT_ROLES: &[Role] = &[Role::Admin, Role::Pimpinan];

/// `lihat`: the case in full; reading it is recorded in the audit log.
pub(in crate::admin) fn show(d: &mut Draft, case: &str) -> Result<(), StoreError> {
    let Some(c) = d.case(case)? else {
        return Ok(());
    };
    let text = case_text(d, &c)?;
    d.say(text);
    d.commit.audit.push(AuditEntry {
        at: d.ctx.now,
        officer: d.officer.id.clone(),
        action: "lihat".into(),
        subject: c.number.to_string(),
    });
    Ok(())
}

/// A case in full, for officers. A confidential complaint shows who filed it only to pimpinan.
fn case_text(d: &Draft, c: &Case) -> Result<String, StoreError> {
    let ctx = d.ctx;
    let bot = ctx.bot;
    let lang = bot.default_lang();
    let cal = &bot.calendar;
    let now = ctx.now;
    let word = |key: &str, vars: &[(&str, String)]| ctx.officer_text(key, vars);
    let mut text = word(
        "admin_show_head",
        &[
            ("case", c.number.to_string()),
            ("stage", bot.stage_label(c.number.service, &c.stage, lang)),
            (
                "closed",
                if c.open {
                    String::new()
                } else {
                    word("admin_show_closed", &[])
                },
            ),
            ("received", cal.format_local(c.created_at, lang)),
            ("channel", c.origin.channel.as_str().to_string()),
            ("title", c.title.clone()),
        ],
    );
    text.push('\n');
    let wf = workflow(ctx, c);
    let due_line = |key: &str, due, unit| {
        let vars = [
            ("due", cal.format_local(due, lang)),
            ("left", time_left(ctx, due, now, unit)),
        ];
        format!("{}\n", word(key, &vars))
    };
    if let Some(due) = c.stage_due {
        text.push_str(&due_line("admin_show_stage_due", due, stage_unit(wf, c)));
    }
    if let Some(due) = c.overall_due {
        text.push_str(&due_line("admin_show_sop_due", due, overall_unit(wf)));
    }
    if let Some(a) = &c.assignee {
        text.push_str(&word("admin_show_officer", &[("officer", a.clone())]));
        text.push('\n');
    }
    if !c.confidential || d.officer.roles.contains(&Role::Pimpinan) {
        let guest = ctx.store.guest_of(&c.origin)?;
        let field = |k: &str| {
            guest
                .as_ref()
                .and_then(|g| g.profile.get(k))
                .and_then(Answer::as_text)
                .unwrap_or("-")
                .to_string()
        };
        let applicant = format!(
            "{} · {} · {}",
            field("name"),
            field("phone"),
            field("email")
        );
        text.push_str(&word("admin_show_applicant", &[("applicant", applicant)]));
    } else {
        text.push_str(&word("admin_show_applicant_hidden", &[]));
    }
    text.push('\n');
    for f in &c.form {
        let step = bot
            .case_dialog(c.number.service)
            .and_then(|d| d.steps.iter().find(|s| s.field == f.field));
        let label = step
            .and_then(|s| s.label.as_ref())
            .map(|l| pick(l, lang, lang))
            .unwrap_or_else(|| f.label.clone());
        text.push_str(&format!(
            "• {label}: {}\n",
            crate::dialogs::render::display_answer(bot, step, &f.value, lang)
        ));
    }
    if !c.attachments.is_empty() {
        let files: Vec<&str> = c.attachments.iter().map(|a| a.filename.as_str()).collect();
        text.push_str(&word("admin_show_files", &[("files", files.join(", "))]));
        text.push('\n');
    }
    text.push_str(&word("admin_show_history", &[]));
    text.push('\n');
    for e in &c.history {
        let who = match &e.actor {
            Actor::Applicant => word("admin_actor_applicant", &[]),
            Actor::Officer(id) => id.clone(),
            Actor::System => word("admin_actor_system", &[]),
        };
        let note = e
            .note
            .as_ref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        text.push_str(&format!(
            "– {} {} ({who}){note}\n",
            cal.format_local(e.at, lang),
            e.kind
        ));
    }
    text.push_str(&next_steps(ctx, workflow(ctx, c), d.officer, c));
    Ok(text)
}

/// `audit`: the newest `count` (default 20, at most 200) accesses to personal data.
pub(in crate::admin) fn audit(d: &mut Draft, count: Option<usize>) -> Result<(), StoreError> {
    if !d.has_role(AUDIT_ROLES) {
        d.refuse_role(AUDIT_ROLES);
        return Ok(());
    }
    let ctx = d.ctx;
    let log = ctx.store.audit_log()?;
    let n = count.unwrap_or(20).clamp(1, 200);
    let lines: Vec<String> = log
        .iter()
        .rev()
        .take(n)
        .map(|a| {
            format!(
                "{} {} {} {}",
                ctx.bot.calendar.format_local(a.at, "id"),
                a.officer,
                a.action,
                a.subject
            )
        })
        .collect();
    let text = if lines.is_empty() {
        d.word("admin_audit_empty", &[])
    } else {
        d.word("admin_audit", &[("lines", lines.join("\n"))])
    };
    d.say(text);
    Ok(())
}
