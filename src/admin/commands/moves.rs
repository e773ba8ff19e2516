//! Moving a case through its workflow: `pindah` (by a step named in `lihat`), `kembalikan`
//! (back to the applicant for revision) and `eskalasi` (to the head of office); the next steps
//! an officer may take, and why a step was refused.

use super::{join, workflow};
use crate::admin::apply::Draft;
use crate::cases::workflow::{TransitionKind, Workflow};
use crate::cases::{Case, flow};
use crate::config::OfficerConfig;
use crate::message::OutboundMessage;
use crate::plan::{PlanContext, notify};
use crate::store::StoreError;
use crate::text::pick;

/// `pindah CASE [STEP [note]]`: without a step, the steps the officer may take; with one, that
/// step.
pub(in crate::admin) fn move_by_step(
    d: &mut Draft,
    case: &str,
    step: Option<String>,
    note: Vec<String>,
) -> Result<(), StoreError> {
    let Some(c) = d.case(case)? else {
        return Ok(());
    };
    match step {
        None => {
            let text = next_steps(d.ctx, workflow(d.ctx, &c), d.officer, &c);
            d.say(text);
            Ok(())
        }
        Some(step) => transition(d, &c, flow::Find::Id(&step), join(note)),
    }
}

/// `kembalikan CASE reason`: the return step the officer's role may take.
pub(in crate::admin) fn send_back(
    d: &mut Draft,
    case: &str,
    reason: Vec<String>,
) -> Result<(), StoreError> {
    by_kind(d, case, TransitionKind::Return, join(reason))
}

/// `eskalasi CASE [note]`: the escalation step the officer's role may take.
pub(in crate::admin) fn escalate(
    d: &mut Draft,
    case: &str,
    note: Vec<String>,
) -> Result<(), StoreError> {
    by_kind(d, case, TransitionKind::Escalate, join(note))
}

/// Takes the transition of `kind` leaving the case's stage that the officer's role may take.
fn by_kind(
    d: &mut Draft,
    case: &str,
    kind: TransitionKind,
    note: Option<String>,
) -> Result<(), StoreError> {
    let Some(c) = d.case(case)? else {
        return Ok(());
    };
    let roles = d.officer.roles.clone();
    let id = d.officer.id.clone();
    let who = flow::Who::Officer {
        id: &id,
        roles: &roles,
    };
    transition(d, &c, flow::Find::Kind(kind, &who), note)
}

/// Takes a transition for the officer, with the checks of [`flow::apply`].
fn transition(
    d: &mut Draft,
    c: &Case,
    find: flow::Find,
    note: Option<String>,
) -> Result<(), StoreError> {
    let ctx = d.ctx;
    let bot = ctx.bot;
    let wf = workflow(ctx, c);
    let roles = d.officer.roles.clone();
    let who = flow::Who::Officer {
        id: &d.officer.id,
        roles: &roles,
    };
    let result = flow::find(wf, c, find).and_then(|t| {
        flow::apply(wf, &bot.calendar, c, t, &who, note.as_deref(), ctx.now).map(|next| (t, next))
    });
    match result {
        Ok((t, next)) => {
            if let Some(e) = d.edits.get(ctx.store, &c.number)? {
                *e = next.clone();
            }
            if let Some(text) = notify::transition_text(bot, wf, &next, t, note.as_deref()) {
                d.out.push(
                    OutboundMessage::text(next.origin.clone(), text)
                        .about(notify::update_topic(bot, &next)),
                );
            }
            let line = notify::officers_line(bot, &next, t, &d.officer.name, note.as_deref());
            d.announce(line.clone(), line);
        }
        Err(e) => {
            let text = refusal(ctx, wf, d.officer, c, e);
            d.say(text);
        }
    }
    Ok(())
}

/// Why a step was refused, and the steps the officer may take instead.
pub(super) fn refusal(
    ctx: &PlanContext,
    wf: &Workflow,
    officer: &OfficerConfig,
    c: &Case,
    e: flow::FlowError,
) -> String {
    use flow::FlowError::*;
    let lang = ctx.bot.default_lang();
    let stage = ctx.bot.stage_label(c.number.service, &c.stage, lang);
    let word = |key: &str, vars: &[(&str, String)]| ctx.officer_text(key, vars);
    let head = match e {
        Closed => word("admin_step_case_closed", &[("case", c.number.to_string())]),
        UnknownTransition(t) => word("admin_step_unknown", &[("step", t)]),
        NotFromHere { transition, .. } => word(
            "admin_step_not_here",
            &[("stage", stage), ("step", transition)],
        ),
        NotAllowed { transition } => word("admin_step_not_allowed", &[("step", transition)]),
        NoteRequired { transition } => word("admin_step_needs_note", &[("step", transition)]),
        NoneOfKind { .. } => word("admin_step_none_of_kind", &[("stage", stage)]),
    };
    format!("{head}\n{}", next_steps(ctx, wf, officer, c))
}

/// The steps that leave the case's stage, marking the ones this officer may take.
pub(super) fn next_steps(
    ctx: &PlanContext,
    wf: &Workflow,
    officer: &OfficerConfig,
    c: &Case,
) -> String {
    let lang = ctx.bot.default_lang();
    let word = |key: &str, vars: &[(&str, String)]| ctx.officer_text(key, vars);
    if !c.open {
        return word("admin_steps_case_closed", &[]);
    }
    let who = flow::Who::Officer {
        id: &officer.id,
        roles: &officer.roles,
    };
    let stage = ctx.bot.stage_label(c.number.service, &c.stage, lang);
    let mut lines = vec![word("admin_next_steps", &[("stage", stage)])];
    for t in wf.from_state(&c.stage) {
        let allowed =
            flow::apply(wf, &ctx.bot.calendar, c, t, &who, Some("x"), c.stage_since).is_ok();
        let roles: Vec<String> = t
            .actors
            .iter()
            .map(|a| match a {
                crate::cases::workflow::Actor::Applicant => word("admin_actor_applicant", &[]),
                crate::cases::workflow::Actor::Officer(r) => format!("{r:?}").to_lowercase(),
            })
            .collect();
        lines.push(format!(
            "• {} — {} [{}]{}",
            t.id,
            pick(&t.label, lang, lang),
            roles.join(", "),
            if allowed { " ✓" } else { "" }
        ));
    }
    lines.push(word(
        "admin_steps_example",
        &[("case", c.number.to_string())],
    ));
    lines.join("\n")
}
