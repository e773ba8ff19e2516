//! `balas`: the officer's reply goes to the case's applicant as a notification, and into the
//! case's history. The officer is told how it goes (queued, by which channel, with an e-mail
//! copy or not) and, when it foreseeably cannot arrive, what to do instead: a reply is only
//! queued here, so "sent" would be a promise the delivery may not keep (issue 20, item 6).

use crate::admin::apply::Draft;
use crate::cases::Case;
use crate::config::Role;
use crate::message::{
    ChannelKind, Identity, OutboundMessage, Topic, WHATSAPP_WINDOW, mask_email_shown,
};
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
    let answer = how_it_goes(d, &c)?;
    d.say(answer);
    Ok(())
}

/// What the officer is told about the reply's way to the applicant.
fn how_it_goes(d: &Draft, c: &Case) -> Result<String, StoreError> {
    let ctx = d.ctx;
    let store = ctx.store;
    let number = c.number.to_string();
    let to = &c.origin;
    // The e-mail copy the runtime adds to every notification (runtime::followups), unless
    // mail to the address bounces.
    let email = match to.channel {
        ChannelKind::Email => None,
        _ => match store.email_of(to)? {
            Some(a) if !store.address_failing(&Identity::new(ChannelKind::Email, a.clone()))? => {
                Some(a)
            }
            _ => None,
        },
    };
    let mut lines = vec![d.word(
        "admin_reply_queued",
        &[
            ("case", number.clone()),
            ("channel", channel_name(d, to.channel)),
        ],
    )];
    if let Some(a) = &email {
        lines.push(d.word("admin_reply_email_copy", &[("email", mask_email_shown(a))]));
    }
    let last_seen = store.session(to)?.and_then(|s| s.last_seen);
    let outside = to.channel == ChannelKind::Whatsapp
        && last_seen.is_none_or(|t| ctx.now - t >= WHATSAPP_WINDOW);
    if outside {
        let hours = last_seen
            .map(|t| (ctx.now - t).num_hours().to_string())
            .unwrap_or_else(|| "24+".into());
        lines.push(d.word("admin_reply_window", &[("hours", hours)]));
        lines.push(match &email {
            Some(a) => d.word(
                "admin_reply_window_email",
                &[("email", mask_email_shown(a))],
            ),
            None => d.word("admin_reply_window_none", &[("case", number)]),
        });
    } else {
        lines.push(d.word("admin_reply_watch", &[]));
    }
    Ok(lines.join("\n"))
}

/// A channel's name as officers know it (`admin_channel_*` in dialogs/officers.toml).
fn channel_name(d: &Draft, kind: ChannelKind) -> String {
    match kind {
        ChannelKind::Officers | ChannelKind::Desk => d.word("admin_channel_desk", &[]),
        other => d.word(&format!("admin_channel_{}", other.as_str()), &[]),
    }
}
