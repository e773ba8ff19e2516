//! `balas`: the officer's reply goes to the case's applicant as a notification, and into the
//! case's history.

use crate::admin::apply::Draft;
use crate::config::Role;
use crate::message::{OutboundMessage, Topic};
use crate::store::StoreError;
use crate::text::fill;

const REPLY_ROLES: &[Role] = &[Role::Petugas, Role::Walidata, Role::Pimpinan];

/// `balas`: `text` to the applicant of `case`, in their language's frame.
pub(in crate::admin) fn reply(d: &mut Draft, case: &str, text: String) -> Result<(), StoreError> {
    if !d.has_role(REPLY_ROLES) {
        d.refuse_role(REPLY_ROLES);
        return Ok(());
    }
    let Some(c) = d.case(case)? else {
        return Ok(());
    };
    d.history(&c.number, "officer_reply", Some(text.clone()))?;
    let msg = fill(
        &d.ctx.bot.sys("officer_reply", &c.lang),
        &[("case", c.number.to_string()), ("text", text.clone())],
    );
    d.out.push(
        OutboundMessage::text(c.origin.clone(), msg).about(Topic::case(
            "officer_reply",
            &c.number,
            &[text],
        )),
    );
    let answer = d.word("admin_reply_sent", &[("case", c.number.to_string())]);
    d.say(answer);
    Ok(())
}
