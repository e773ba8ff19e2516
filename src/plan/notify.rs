//! The words of case notifications: what the applicant is told on a stage change (in their
//! language, with the new stage and its due date) and the line posted to the officers.

use crate::cases::Case;
use crate::cases::workflow::{Transition, Workflow};
use crate::dialogs::Bot;
use crate::message::Topic;
use crate::text::{fill, pick};
use chrono::{DateTime, Utc};

/// The applicant's notification after `t` moved `case` (already in its new stage), or `None`
/// when the transition notifies nobody.
pub fn transition_text(
    bot: &Bot,
    wf: &Workflow,
    case: &Case,
    t: &Transition,
    note: Option<&str>,
) -> Option<String> {
    let lang = case.lang.as_str();
    let template = pick(t.notify.as_ref()?, lang, bot.default_lang());
    let mut text = fill(
        &template,
        &[
            ("case", case.number.to_string()),
            (
                "stage",
                bot.stage_label(case.number.service, &case.stage, lang),
            ),
            ("note", note.unwrap_or("-").to_string()),
            ("office", bot.office_name.clone()),
        ],
    );
    // The due date of a stage the applicant waits on; not while a rating is asked (that
    // deadline is the officers').
    let asks_rating = wf.state(&case.stage).is_some_and(|s| s.ask_rating);
    if case.open
        && !asks_rating
        && let Some(due) = case.due()
    {
        text.push('\n');
        text.push_str(&fill(
            &bot.sys("due_line", lang),
            &[("due", bot.calendar.format_local(due, lang))],
        ));
        // The SOP's own deadline, in plain words, when it is not the date just given.
        if let Some(sop) = case.overall_due.filter(|s| *s != due) {
            text.push('\n');
            text.push_str(&sop_due_line(bot, &case.number.to_string(), sop, lang));
        }
    }
    Some(text)
}

/// "Selesai paling lambat …": the SOP's overall deadline of case number `case`, told to its applicant
/// (issue 20, item 2).
pub fn sop_due_line(bot: &Bot, case: &str, due: DateTime<Utc>, lang: &str) -> String {
    fill(
        &bot.sys("sop_due_line", lang),
        &[
            ("case", case.to_string()),
            ("due", bot.calendar.format_local(due, lang)),
        ],
    )
}

/// The topic of a stage-change notification: `case_update` with the case number and the new
/// stage's label in the applicant's language.
pub fn update_topic(bot: &Bot, case: &Case) -> Topic {
    Topic::case(
        "case_update",
        &case.number,
        &[bot.stage_label(case.number.service, &case.stage, &case.lang)],
    )
}

/// The line posted to the officers' chat when a case moves.
pub fn officers_line(
    bot: &Bot,
    case: &Case,
    t: &Transition,
    by: &str,
    note: Option<&str>,
) -> String {
    let lang = bot.default_lang();
    let mut line = format!(
        "[{}] {} → {} ({by})",
        case.number,
        pick(&t.label, lang, lang),
        bot.stage_label(case.number.service, &case.stage, lang)
    );
    if let Some(n) = note {
        line.push('\n');
        line.push_str(
            &bot.texts
                .officer("officers_note", &[("note", n.to_string())]),
        );
    }
    if case.open
        && let Some(due) = case.due()
    {
        line.push('\n');
        line.push_str(&bot.texts.officer(
            "officers_due",
            &[("due", bot.calendar.format_local(due, lang))],
        ));
    }
    line
}
