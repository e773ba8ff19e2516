//! `kirim`: the officer's next file (a letter, a product, a billing code) goes to the case's
//! applicant, is kept with the case, and takes the workflow's `send` step when one leaves the
//! case's stage. `kirim CASE` asks for the file; the file the officer sends next is it.

use super::moves::refusal;
use super::workflow;
use crate::admin::apply::Draft;
use crate::cases::flow;
use crate::cases::workflow::TransitionKind;
use crate::config::Role;
use crate::dialogs::Conversation;
use crate::message::{Attachment, OutboundMessage, Topic};
use crate::plan::{attachment_ref, notify};
use crate::store::StoreError;
use crate::text::fill;

const SEND_ROLES: &[Role] = &[Role::Petugas, Role::Pimpinan];

/// `kirim CASE`: the officer's next file goes to that case (noted in their conversation).
pub(in crate::admin) fn ask_for_file(
    d: &mut Draft,
    session: &mut Conversation,
    case: &str,
) -> Result<(), StoreError> {
    if !d.has_role(SEND_ROLES) {
        d.refuse_role(SEND_ROLES);
        return Ok(());
    }
    let Some(c) = d.case(case)? else {
        return Ok(());
    };
    let vars = [("case", c.number.to_string())];
    let answer = if c.open {
        session.pending_send = Some(c.number.clone());
        d.word("admin_send_now", &vars)
    } else {
        d.word("admin_case_closed", &vars)
    };
    d.say(answer);
    Ok(())
}

/// A file from an officer: for the case a `kirim` named, or a word on how to send one.
pub(in crate::admin) fn file(
    d: &mut Draft,
    session: &mut Conversation,
    a: &Attachment,
) -> Result<(), StoreError> {
    match session.pending_send.take() {
        Some(n) => send_file(d, &n, a),
        None => {
            let answer = d.word("admin_send_first", &[]);
            d.say(answer);
            Ok(())
        }
    }
}

/// An officer's file for a case: it goes to the applicant, is kept with the case, and fires the
/// workflow's `send` step when one leaves the current stage.
fn send_file(
    d: &mut Draft,
    n: &crate::cases::CaseNumber,
    a: &Attachment,
) -> Result<(), StoreError> {
    let ctx = d.ctx;
    let bot = ctx.bot;
    let now = ctx.now;
    if a.bytes.len() as u64 > bot.max_attachment_bytes {
        let mb = bot.max_attachment_bytes.div_ceil(1024 * 1024);
        let answer = d.word("admin_file_too_large", &[("mb", mb.to_string())]);
        d.say(answer);
        return Ok(());
    }
    let Some(c) = d.case(&n.to_string())? else {
        return Ok(());
    };
    let wf = workflow(ctx, &c);
    let roles = d.officer.roles.clone();
    let who = flow::Who::Officer {
        id: &d.officer.id,
        roles: &roles,
    };
    let (file, bytes) = attachment_ref(a);
    let moved = match flow::find(wf, &c, flow::Find::Kind(TransitionKind::Send, &who)) {
        Ok(t) => match flow::apply(wf, &bot.calendar, &c, t, &who, None, now) {
            Ok(next) => Some((t, next)),
            Err(e) => {
                let text = refusal(ctx, wf, d.officer, &c, e);
                d.say(text);
                return Ok(());
            }
        },
        Err(flow::FlowError::NotAllowed { transition }) => {
            let text = refusal(
                ctx,
                wf,
                d.officer,
                &c,
                flow::FlowError::NotAllowed { transition },
            );
            d.say(text);
            return Ok(());
        }
        Err(_) => None,
    };
    d.commit.blobs.push((file.blob.clone(), bytes));
    let mut to_applicant = OutboundMessage::text(
        c.origin.clone(),
        fill(
            &bot.sys("officer_file", &c.lang),
            &[
                ("case", c.number.to_string()),
                ("file", file.filename.clone()),
            ],
        ),
    );
    to_applicant.files.push(file.clone());
    to_applicant.topic = Some(Topic::case(
        "officer_file",
        &c.number,
        std::slice::from_ref(&file.filename),
    ));
    d.out.push(to_applicant);
    let case = d.edits.get(ctx.store, n)?.expect("read above");
    if let Some((_, next)) = &moved {
        *case = next.clone();
    }
    case.attachments.push(file.clone());
    d.history(n, "officer_file", Some(file.filename.clone()))?;
    match moved {
        Some((t, next)) => {
            if let Some(text) = notify::transition_text(bot, wf, &next, t, None) {
                d.out.push(
                    OutboundMessage::text(next.origin.clone(), text)
                        .about(notify::update_topic(bot, &next)),
                );
            }
            let line = notify::officers_line(bot, &next, t, &d.officer.name, Some(&file.filename));
            d.announce(line.clone(), line);
        }
        None => {
            let answer = d.word(
                "admin_file_sent",
                &[
                    ("case", c.number.to_string()),
                    ("file", file.filename.clone()),
                ],
            );
            d.say(answer);
        }
    }
    Ok(())
}
