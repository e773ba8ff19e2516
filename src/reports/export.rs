//! The guest-book export: every visit of a period as one row, in the columns of an office's
//! visit register (*buku tamu*), ready to be typed or pasted into it.
//!
//! The profile columns come from the guest's guest-book entry as it is now (a guest who
//! updated their entry shows the new answers on their earlier visits too); walk-in visitors
//! registered at the desk have only the name the receptionist typed. Without
//! `include_personal`, the name, phone and e-mail columns are left empty, so the export can go
//! to someone who may see the statistics but not the people (the caller decides who may see
//! personal data).

use super::table::{Cell, Table};
use super::{Period, Result, guestbook_label};
use crate::cases::Answer;
use crate::dialogs::Bot;
use crate::guestbook::Guest;
use crate::store::Store;
use std::collections::BTreeMap;

/// The columns of the register, in order: keys of the report's words.
pub const COLUMNS: [&str; 14] = [
    "report_guest_date",
    "report_guest_time",
    "report_guest_name",
    "report_guest_gender",
    "report_guest_age",
    "report_guest_education",
    "report_guest_occupation",
    "report_guest_institution",
    "report_guest_institution_category",
    "report_guest_phone",
    "report_guest_email",
    "report_guest_purpose",
    "report_guest_channel",
    "report_guest_service",
];

/// The visits of `period`, oldest first, as the register table (`bukutamu`).
pub fn guestbook(
    store: &dyn Store,
    bot: &Bot,
    period: Period,
    include_personal: bool,
) -> Result<Table> {
    let cal = &bot.calendar;
    let lang = "id";
    let guests: BTreeMap<String, Guest> = store
        .guests()?
        .into_iter()
        .map(|g| (g.id.clone(), g))
        .collect();
    let mut visits: Vec<_> = store
        .visits()?
        .into_iter()
        .filter(|v| period.contains(v.at))
        .collect();
    visits.sort_by_key(|v| v.at);
    let words = super::Words::of(bot);
    let mut t = Table::new(
        "bukutamu",
        &words.fill(
            "report_guest_title",
            &[
                ("from", period.first.to_string()),
                ("to", period.last.to_string()),
            ],
        ),
        &words.all(&COLUMNS),
    );
    for v in visits {
        let guest = guests.get(&v.guest_id);
        let text = |field: &str| -> String {
            guest
                .and_then(|g| g.profile.get(field))
                .and_then(Answer::as_text)
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "-")
                .unwrap_or("")
                .to_string()
        };
        let choice = |field: &str| -> String {
            let value = text(field);
            if value.is_empty() {
                value
            } else {
                guestbook_label(bot, field, &value, lang)
            }
        };
        let personal = |s: String| if include_personal { s } else { String::new() };
        let name = v
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| text("name"));
        let purpose = match v.purpose.as_deref() {
            Some(p) if !p.is_empty() => guestbook_label(bot, "purpose", p, lang),
            _ => choice("purpose"),
        };
        let service = v
            .service
            .as_deref()
            .map(|s| {
                bot.dialogs
                    .get(s)
                    .map(|d| crate::text::pick(&d.title, lang, bot.default_lang()))
                    .unwrap_or_else(|| s.to_string())
            })
            .unwrap_or_default();
        let local = cal.local(v.at);
        t.push(vec![
            Cell::text(local.format("%Y-%m-%d").to_string()),
            Cell::text(local.format("%H:%M").to_string()),
            Cell::text(personal(name)),
            Cell::text(choice("gender")),
            Cell::text(choice("age_group")),
            Cell::text(choice("education")),
            Cell::text(choice("occupation")),
            Cell::text(text("institution")),
            Cell::text(choice("institution_category")),
            Cell::text(personal(text("phone"))),
            Cell::text(personal(text("email"))),
            Cell::text(purpose),
            Cell::text(v.channel.as_str()),
            Cell::text(service),
        ]);
    }
    Ok(t)
}
