//! The desk's queue: `tamu` registers a walk-in visitor and gives them a queue number, `panggil`
//! calls the next number. The numbers are assigned by the commit, so the answers carry markers
//! that [`render_queue`] fills in afterwards.

use crate::admin::apply::Draft;
use crate::config::Role;
use crate::guestbook::{Guest, Visit};
use crate::message::{ChannelKind, Identity, OutboundMessage};
use crate::store::{Applied, QueueKey, StoreError};

const DESK_ROLES: &[Role] = &[Role::Resepsionis, Role::Petugas];

const TICKET: &str = "\u{1}ticket\u{1}";
const AHEAD: &str = "\u{1}ahead\u{1}";
const WAIT: &str = "\u{1}wait\u{1}";
const CALLED: &str = "\u{1}called\u{1}";

/// A queue's letter and its service's name, from what the desk typed.
fn queue_letter(service: &str) -> Option<(char, &'static str)> {
    Some(match service.to_lowercase().as_str() {
        "rek" | "rekomendasi" | "r" => ('R', "rekomendasi"),
        "prd" | "produk" | "p" => ('P', "produk"),
        "adu" | "pengaduan" | "a" => ('A', "pengaduan"),
        "umum" | "info" | "konsultasi" | "u" => ('U', "umum"),
        _ => return None,
    })
}

/// `tamu SERVICE NAME`: a visit in the guest book and a queue number, with the wait ahead.
pub(in crate::admin) fn register(
    d: &mut Draft,
    service: &str,
    name: Vec<String>,
) -> Result<(), StoreError> {
    if !d.has_role(DESK_ROLES) {
        d.refuse_role(DESK_ROLES);
        return Ok(());
    }
    let Some((letter, service)) = queue_letter(service) else {
        let answer = d.word("admin_unknown_queue", &[]);
        d.say(answer);
        return Ok(());
    };
    let bot = d.ctx.bot;
    let now = d.ctx.now;
    let name = name.join(" ");
    let day = bot.calendar.local(now).date();
    d.commit.ticket = Some(QueueKey { letter, day });
    d.commit.visit = Some(Visit {
        guest_id: format!(
            "desk:{}",
            Guest::id_for(&Identity::new(ChannelKind::Desk, &name))
        ),
        at: now,
        channel: ChannelKind::Desk,
        service: Some(service.to_string()),
        purpose: None,
        name: Some(name.clone()),
    });
    let closed = if bot.calendar.is_open_at(now) {
        String::new()
    } else {
        let hours = bot.calendar.hours_text(bot.default_lang());
        d.word("admin_outside_hours", &[("hours", hours)])
    };
    let answer = d.word(
        "admin_visitor_ticket",
        &[
            ("letter", letter.to_string()),
            ("ticket", TICKET.to_string()),
            ("ahead", AHEAD.to_string()),
            ("wait", WAIT.to_string()),
            ("closed", closed),
            ("name", name),
        ],
    );
    d.say(answer);
    Ok(())
}

/// `panggil SERVICE`: the queue's next number is called.
pub(in crate::admin) fn call(d: &mut Draft, service: &str) {
    if !d.has_role(DESK_ROLES) {
        d.refuse_role(DESK_ROLES);
        return;
    }
    let answer = match queue_letter(service) {
        Some((letter, _)) => {
            let day = d.ctx.bot.calendar.local(d.ctx.now).date();
            d.commit.call_next = Some(QueueKey { letter, day });
            d.word(
                "admin_calling",
                &[
                    ("letter", letter.to_string()),
                    ("number", CALLED.to_string()),
                ],
            )
        }
        None => d.word("admin_unknown_queue", &[]),
    };
    d.say(answer);
}

/// Fills the queue numbers the commit assigned into the replies.
pub(in crate::admin) fn render_queue(
    out: &[OutboundMessage],
    applied: &Applied,
    minutes: u32,
) -> Vec<OutboundMessage> {
    out.iter()
        .cloned()
        .map(|mut m| {
            if let Some(t) = applied.ticket {
                m.text = m
                    .text
                    .replace(TICKET, &format!("{:03}", t.number))
                    .replace(AHEAD, &t.ahead.to_string())
                    .replace(WAIT, &(t.ahead * u64::from(minutes)).to_string());
            }
            m.text = match applied.called {
                Some(n) => m.text.replace(CALLED, &format!("{n:03}")),
                None => m.text.replace(CALLED, "—"),
            };
            m
        })
        .collect()
}
