//! The dialog engine: a pure function that moves one conversation by one input.
//!
//! `step(bot, ctx, conversation, input) -> (conversation, effects)` does no I/O. The runtime
//! loads the context, calls it, and applies the effects in one store transaction. Universal
//! commands (`menu`, `batal`, `kembali`, `bantuan`, `bahasa`, `datasaya`) work at any step
//! (`engine/commands.rs`); outside a dialog a person with an open case talks to its officers
//! (`engine/handoff.rs`); a dialog's end runs its action (`engine/finish.rs`).
//!
//! Inside a dialog the engine asks the step's kind ([`super::steps`]) to read the answer, acts
//! on the [`Reading`], and gives every re-prompt here, in `reprompt`. The one kind it names is
//! the summary, where a changed answer returns.

mod commands;
mod finish;
mod handoff;
mod outside;
mod reprompt;

use super::data::Activity;
use super::spec::{Dialog, Next, Step, StepKind};
use super::steps::{self, Entry, Miss, Reading, Turn};
use super::{Active, Bot, Conversation, Effect, Reply, SubState, input};
use crate::cases::Answer;
use crate::cases::CaseSummary;
use crate::guestbook::Guest;
use crate::message::AttachmentRef;
use crate::message::{Identity, OutboundChoice};
use crate::text::fill;
use chrono::{DateTime, Utc};

/// What the engine may read besides the conversation: loaded by the runtime before the step.
pub struct Ctx<'a> {
    pub now: DateTime<Utc>,
    pub identity: &'a Identity,
    pub guest: Option<&'a Guest>,
    /// The person's own cases, newest first.
    pub cases: &'a [CaseSummary],
    /// Activities recommended through issued cases (besides the data file).
    pub issued: &'a [Activity],
    /// Everything else stored about the person: loaded only for `datasaya`, else `None`.
    pub records: Option<&'a super::PersonRecords>,
}

/// One input, after the runtime has stored nothing yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Text(String),
    Choice(String),
    /// A file, described; its bytes are kept only if the engine emits [`Effect::KeepFile`].
    File(AttachmentRef),
    Contact {
        phone: String,
        own: bool,
    },
}

/// The output being built by one step.
struct Out<'b> {
    bot: &'b Bot,
    conv: Conversation,
    effects: Vec<Effect>,
    /// The channel's variant of the texts (`sms`), if it has one.
    variant: Option<&'static str>,
}

impl Out<'_> {
    fn lang(&self) -> String {
        self.conv.lang.clone()
    }

    fn say(&mut self, text: String, choices: Vec<OutboundChoice>) {
        self.effects.push(Effect::Reply(Reply::new(text, choices)));
    }

    fn sys(&mut self, key: &str) {
        let t = self.text(key);
        self.say(t, Vec::new());
    }

    /// A system text in the person's language and the channel's variant.
    fn text(&self, key: &str) -> String {
        self.bot.texts.get_for(key, &self.conv.lang, self.variant)
    }

    /// The current step as its kind sees it; `None` outside a dialog (or with stale state).
    fn turn<'a>(&'a self, ctx: &'a Ctx<'a>) -> Option<Turn<'a>> {
        let a = self.conv.active.as_ref()?;
        let dialog = self.bot.dialogs.get(&a.dialog)?;
        let step = dialog.step(&a.step)?;
        Some(Turn {
            bot: self.bot,
            ctx,
            dialog,
            step,
            answers: &a.answers,
            sub: &a.sub,
            lang: &self.conv.lang,
        })
    }
}

/// Moves a conversation by one input. Pure: the same arguments give the same result.
pub fn step(
    bot: &Bot,
    ctx: &Ctx,
    conv: &Conversation,
    input: &Input,
) -> (Conversation, Vec<Effect>) {
    let (conv, mut effects) = step_once(bot, ctx, conv, input);
    if ctx.identity.channel.text_variant() == Some("sms") {
        merge_replies(&mut effects);
    }
    (conv, effects)
}

/// On SMS every message costs the person: consecutive replies of one turn go as one message
/// ("Data tersimpan." and the next question), the buttons of the last one kept.
fn merge_replies(effects: &mut Vec<Effect>) {
    let mut merged: Vec<Effect> = Vec::with_capacity(effects.len());
    for e in effects.drain(..) {
        match (merged.last_mut(), e) {
            (Some(Effect::Reply(prev)), Effect::Reply(next)) if prev.choices.is_empty() => {
                prev.text.push('\n');
                prev.text.push_str(&next.text);
                prev.choices = next.choices;
                prev.ask_contact |= next.ask_contact;
            }
            (_, e) => merged.push(e),
        }
    }
    *effects = merged;
}

fn step_once(
    bot: &Bot,
    ctx: &Ctx,
    conv: &Conversation,
    input: &Input,
) -> (Conversation, Vec<Effect>) {
    let mut out = Out {
        bot,
        conv: conv.clone(),
        effects: Vec::new(),
        variant: ctx.identity.channel.text_variant(),
    };
    let first_contact = out.conv.last_seen.is_none();
    if out.conv.lang.is_empty() || !bot.languages.contains(&out.conv.lang) {
        out.conv.lang = ctx
            .guest
            .map(|g| g.lang.clone())
            .filter(|l| bot.languages.contains(l))
            .unwrap_or_else(|| guess_language(bot, input));
    }
    if let Some(last) = out.conv.last_seen
        && ctx.now - last > bot.idle_timeout
        && out.conv.active.is_some()
    {
        out.conv.active = None;
        out.sys("idle_closed");
    }
    out.conv.last_seen = Some(ctx.now);

    if let Input::Text(t) = input
        && t.chars().count() > bot.max_message_chars
    {
        let lang = out.lang();
        let msg = fill(
            &bot.sys("too_long", &lang),
            &[("max", bot.max_message_chars.to_string())],
        );
        out.say(msg, current_choices(&out, ctx));
        return (out.conv, out.effects);
    }
    let text = match input {
        Input::Text(t) => Some(input::sanitize(t)),
        Input::Choice(_) | Input::File(_) | Input::Contact { .. } => None,
    };
    if std::mem::take(&mut out.conv.erase_asked)
        && commands::answer_erase_question(&mut out, ctx, input)
    {
        return (out.conv, out.effects);
    }
    if let Some(cmd) = text
        .as_deref()
        .and_then(|t| commands::parse_command(&bot.understanding.lexicon, t, &bot.languages))
    {
        // A command answers no question asked outside a form.
        out.conv.pending_forward = None;
        commands::run(&mut out, ctx, cmd);
        return (out.conv, out.effects);
    }
    if first_contact || out.conv.active.is_none() {
        outside::outside_dialog(&mut out, ctx, input, text.as_deref(), first_contact);
        return (out.conv, out.effects);
    }
    let clean = match (input, text) {
        (Input::Text(_), Some(t)) => Input::Text(t),
        (other, _) => other.clone(),
    };
    if let Input::Text(t) = &clean
        && outside::view_passes_on(&out, ctx, &clean, t)
    {
        out.conv.active = None;
        outside::outside_dialog(&mut out, ctx, &clean, Some(t), false);
        return (out.conv, out.effects);
    }
    answer(&mut out, ctx, &clean);
    (out.conv, out.effects)
}

/// English speakers who greet in English get English from the first reply.
fn guess_language(bot: &Bot, input: &Input) -> String {
    if let Input::Text(t) = input {
        let t = t.trim().to_lowercase();
        let english = [
            "hello",
            "hi",
            "good morning",
            "good afternoon",
            "good evening",
            "english",
        ];
        if bot.languages.iter().any(|l| l == "en") && english.iter().any(|e| t.starts_with(e)) {
            return "en".into();
        }
    }
    bot.default_lang().to_string()
}

fn current<'a>(bot: &'a Bot, conv: &Conversation) -> Option<(&'a Dialog, &'a Step)> {
    let a = conv.active.as_ref()?;
    let d = bot.dialogs.get(&a.dialog)?;
    Some((d, d.step(&a.step)?))
}

/// The buttons of the current step (none outside a dialog).
fn current_choices(out: &Out, ctx: &Ctx) -> Vec<OutboundChoice> {
    out.turn(ctx)
        .map(|t| t.step.kind.rules().buttons(&t))
        .unwrap_or_default()
}

/// Starts a dialog; a dialog that needs the guest book goes through it first.
fn start_dialog(out: &mut Out, ctx: &Ctx, id: &str, then: Option<String>) {
    let bot = out.bot;
    let Some(d) = bot.dialogs.get(id) else {
        // The loader checks every started dialog exists; this is only reachable with stale state.
        out.conv.active = None;
        return start_dialog(out, ctx, "menu", None);
    };
    if d.requires_guest && then.is_none() && id != "guestbook" {
        return start_dialog(out, ctx, "guestbook", Some(id.to_string()));
    }
    let mut active = Active {
        dialog: id.to_string(),
        step: d.start.clone(),
        answers: Default::default(),
        trail: Vec::new(),
        then,
        editing: false,
        sub: SubState::None,
        misses: 0,
    };
    if id == "guestbook"
        && let Some(g) = ctx.guest
        && g.consent_version == bot.consent_version
        && let Some(r) = &d.returning_start
    {
        active.answers = g.profile.clone();
        active.step = r.clone();
        let lang = out.lang();
        let msg = fill(
            &bot.sys("welcome_back", &lang),
            &[("name", g.name().unwrap_or_default().to_string())],
        );
        out.say(msg, Vec::new());
    }
    out.conv.active = Some(active);
    enter_step(out, ctx);
}

/// Enters the current step: asks it, or skips it when its kind says there is nothing to ask.
fn enter_step(out: &mut Out, ctx: &Ctx) {
    let Some((entry, optional)) = out
        .turn(ctx)
        .map(|t| (t.step.kind.rules().enter(&t), t.step.optional))
    else {
        out.conv.active = None;
        return;
    };
    match entry {
        Entry::Ask => {
            if let Some(file) = early_file(out, ctx) {
                return answer(out, ctx, &Input::File(file));
            }
            prompt_current(out, ctx)
        }
        Entry::Skip => accept(out, ctx, Answer::Skipped, None),
        Entry::NothingToChoose { note } => {
            out.sys(note);
            if optional {
                return accept(out, ctx, Answer::Skipped, None);
            }
            out.conv.active = None;
            out.sys("menu_hint");
        }
    }
}

/// A file sent before it was asked for, when the current step takes files.
fn early_file(out: &mut Out, ctx: &Ctx) -> Option<AttachmentRef> {
    let takes_files = out
        .turn(ctx)
        .is_some_and(|t| t.step.kind.rules().takes().files);
    if !takes_files || out.conv.early_files.is_empty() {
        return None;
    }
    Some(out.conv.early_files.remove(0))
}

/// Asks the current step's question again (or the follow-up question in progress).
fn prompt_current(out: &mut Out, ctx: &Ctx) {
    if let Some(reply) = out.turn(ctx).and_then(|t| steps::question(&t)) {
        out.effects.push(Effect::Reply(reply));
    }
}

/// A wrong answer: say what is expected, with the step's buttons again (or, for a follow-up
/// question, the question itself again). Every re-prompt of a step is given here, and each one
/// in a row says more (see [`reprompt::more`]): never the same text three times.
fn reprompt(out: &mut Out, ctx: &Ctx, miss: Miss) {
    let lang = out.lang();
    let misses = out.conv.active.as_mut().map_or(1, |a| {
        a.misses = a.misses.saturating_add(1);
        a.misses
    });
    let mut text = fill(&out.bot.sys(miss.key, &lang), &miss.vars);
    if miss.ask_again {
        out.say(text, Vec::new());
        return prompt_current(out, ctx);
    }
    let (choices, ask_contact, more) = out
        .turn(ctx)
        .map(|t| {
            let rules = t.step.kind.rules();
            let choices = if miss.only.is_empty() {
                rules.buttons(&t)
            } else {
                miss.only.clone()
            };
            let more = reprompt::more(&t, misses, &choices);
            (choices, rules.takes().contacts, more)
        })
        .unwrap_or_default();
    if !more.is_empty() {
        text.push('\n');
        text.push_str(&more);
    }
    out.effects.push(Effect::Reply(Reply {
        text,
        choices,
        ask_contact,
    }));
}

/// Handles an answer to the current step: its kind reads it, the engine acts on the reading.
fn answer(out: &mut Out, ctx: &Ctx, input: &Input) {
    let Some(reading) = out.turn(ctx).map(|t| steps::read(&t, input)) else {
        out.conv.active = None;
        return start_dialog(out, ctx, "menu", None);
    };
    if !matches!(reading, Reading::Miss(_) | Reading::Aside(_))
        && let Some(a) = out.conv.active.as_mut()
    {
        a.misses = 0;
    }
    match reading {
        Reading::Answer {
            value,
            branch,
            first,
        } => {
            out.effects.extend(first);
            accept(out, ctx, value, branch);
        }
        Reading::Miss(miss) => reprompt(out, ctx, miss),
        Reading::Done => {
            if let Some((_, s)) = current(out.bot, &out.conv) {
                advance(out, ctx, s.next.clone());
            }
        }
        Reading::Stay(replies) => out.effects.extend(replies.into_iter().map(Effect::Reply)),
        Reading::Aside(replies) => {
            out.effects.extend(replies.into_iter().map(Effect::Reply));
            prompt_current(out, ctx);
        }
        Reading::Keep { value, said } => {
            let field = current(out.bot, &out.conv).map(|(_, s)| s.field.clone());
            if let (Some(a), Some(field)) = (out.conv.active.as_mut(), field) {
                a.answers.insert(field, value);
                a.sub = SubState::None;
            }
            out.say(said, Vec::new());
            prompt_current(out, ctx);
        }
        Reading::Follow(sub) => {
            if let Some(a) = out.conv.active.as_mut() {
                a.sub = sub;
            }
            prompt_current(out, ctx);
        }
        Reading::Edit(step) => {
            if let Some(a) = out.conv.active.as_mut() {
                let summary = std::mem::replace(&mut a.step, step);
                a.trail.push(summary);
                a.sub = SubState::None;
                a.editing = true;
            }
            prompt_current(out, ctx);
        }
    }
}

/// Stores an answer and moves on (to the summary, when the person was changing an answer).
fn accept(out: &mut Out, ctx: &Ctx, value: Answer, branch: Option<Next>) {
    let bot = out.bot;
    let Some((d, s)) = current(bot, &out.conv) else {
        return;
    };
    let Some(a) = out.conv.active.as_mut() else {
        return;
    };
    a.answers.insert(s.field.clone(), value);
    a.trail.push(s.id.clone());
    a.sub = SubState::None;
    let next = if a.editing && branch.is_none() {
        a.editing = false;
        d.steps
            .iter()
            .find(|x| matches!(x.kind, StepKind::Summary(_)))
            .map(|x| Next::Step(x.id.clone()))
            .unwrap_or_else(|| s.next.clone())
    } else {
        branch.unwrap_or_else(|| s.next.clone())
    };
    advance(out, ctx, next);
}

fn advance(out: &mut Out, ctx: &Ctx, next: Next) {
    match next {
        Next::Step(id) => {
            if let Some(a) = out.conv.active.as_mut() {
                a.step = id;
                a.sub = SubState::None;
            }
            enter_step(out, ctx);
        }
        Next::Finish => finish::finish(out, ctx),
        Next::Start(d) => {
            out.conv.active = None;
            start_dialog(out, ctx, &d, None);
        }
    }
}
