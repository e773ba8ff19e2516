//! What a re-prompt adds when the same question missed again (issue 19): the first miss says
//! only what went wrong; the second adds an example of an answer the step takes; the third adds
//! the choices in full and the ways out (help, back, menu, the officers' hours); then the two
//! alternate. A person is never sent the same text three times in a row.

use crate::dialogs::spec::StepKind;
use crate::dialogs::steps::Turn;
use crate::message::OutboundChoice;
use crate::text::fill;

/// The lines added to the `misses`-th re-prompt in a row of this step.
pub(super) fn more(turn: &Turn, misses: u8, choices: &[OutboundChoice]) -> String {
    match misses {
        0 | 1 => String::new(),
        n if n % 2 == 0 => example(turn, choices),
        _ => ways_out(turn, choices),
    }
}

/// An example of an answer: the step's own help when it has one, else one for its kind.
fn example(turn: &Turn, choices: &[OutboundChoice]) -> String {
    let mut lines = Vec::new();
    if let Some(help) = &turn.step.help {
        lines.push(turn.pick(help));
    } else {
        let kind = match &turn.step.kind {
            StepKind::Choice(_) | StepKind::Cart(_) | StepKind::CasePick(_) => {
                // The second choice (the first is what people try first), or the only one.
                let shown = choices.len().min(2).checked_sub(1);
                if let Some((i, c)) = shown.and_then(|i| choices.get(i).map(|c| (i, c))) {
                    lines.push(fill(
                        &turn.sys("example_choice"),
                        &[("number", (i + 1).to_string()), ("label", c.label.clone())],
                    ));
                }
                None
            }
            StepKind::YesNo(_) => Some("example_yes_no"),
            StepKind::Date(_) => Some("example_date"),
            StepKind::Number(_) => Some("example_number"),
            StepKind::Phone(_) => Some("example_phone"),
            StepKind::Email(_) => Some("example_email"),
            _ => None,
        };
        if let Some(key) = kind {
            lines.push(turn.sys(key));
        }
    }
    if turn.step.optional {
        lines.push(turn.sys("example_skip"));
    }
    if lines.is_empty() {
        lines.push(turn.step.kind.rules().expectation(turn.bot, turn.lang));
    }
    lines.join("\n")
}

/// The choices in full (where the channel shows buttons, whose labels may be cut short) and the
/// ways out of the question.
fn ways_out(turn: &Turn, choices: &[OutboundChoice]) -> String {
    let mut lines = Vec::new();
    if !choices.is_empty() && turn.ctx.identity.channel.has_buttons() {
        lines.push(turn.sys("reprompt_choices"));
        for (i, c) in choices.iter().enumerate() {
            lines.push(format!("{}. {}", i + 1, c.label));
        }
    }
    if turn.step.optional {
        lines.push(turn.sys("example_skip"));
    }
    lines.push(fill(
        &turn.sys("reprompt_escape"),
        &[("hours", turn.bot.calendar.hours_text(turn.lang))],
    ));
    lines.join("\n")
}
