//! The dialog engine: a pure function that moves one conversation by one input.
//!
//! `step(bot, ctx, conversation, input) -> (conversation, effects)` does no I/O. The runtime
//! loads the context, calls it, and applies the effects in one store transaction. Universal
//! commands (`menu`, `batal`, `kembali`, `bantuan`, `bahasa`, `datasaya`) work at any step.

use super::data::{Activity, search_activities};
use super::input::{self, PhoneError};
use super::render::{self, fill, rupiah};
use super::spec::{CaseFilter, DateBound, Dialog, FinishAction, Next, Step, StepKind};
use super::{
    Active, Answer, Bot, CASE_MARKER, CartLine, Conversation, Effect, Reply, SubState, pick,
};
use crate::cases::{AttachmentRef, CaseNumber, CaseSummary, FormField};
use crate::guestbook::Guest;
use crate::message::{Identity, OutboundChoice};
use chrono::{DateTime, Duration, Utc};

/// What the engine may read besides the conversation: loaded by the runtime before the step.
pub struct Ctx<'a> {
    pub now: DateTime<Utc>,
    pub identity: &'a Identity,
    pub guest: Option<&'a Guest>,
    /// The person's own cases, newest first.
    pub cases: &'a [CaseSummary],
    /// Activities recommended through issued cases (besides the data file).
    pub issued: &'a [Activity],
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

/// The universal commands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Menu,
    Cancel,
    Back,
    Help,
    Language(Option<String>),
    MyData,
    Erase,
}

fn parse_command(text: &str, languages: &[String]) -> Option<Command> {
    let t = text.trim().trim_start_matches('/').to_lowercase();
    let mut words = t.split_whitespace();
    let first = words.next()?;
    let rest: Vec<&str> = words.collect();
    let single = rest.is_empty();
    Some(match first {
        "menu" | "start" | "mulai" if single => Command::Menu,
        "batal" | "cancel" | "batalkan" if single => Command::Cancel,
        "kembali" | "back" if single => Command::Back,
        "bantuan" | "help" | "tolong" if single => Command::Help,
        "datasaya" | "mydata" if single => Command::MyData,
        "hapusdata" | "erasemydata" | "deletemydata" if single => Command::Erase,
        "bahasa" | "language" | "lang" if rest.len() <= 1 => {
            let code = rest.first().map(|w| match *w {
                "indonesia" | "indonesian" => "id".to_string(),
                "inggris" | "english" => "en".to_string(),
                other => other.to_string(),
            });
            match code {
                Some(c) if !languages.contains(&c) => return None,
                c => Command::Language(c),
            }
        }
        "english" if single && languages.iter().any(|l| l == "en") => {
            Command::Language(Some("en".into()))
        }
        "indonesia" if single && languages.iter().any(|l| l == "id") => {
            Command::Language(Some("id".into()))
        }
        _ => return None,
    })
}

/// The choice values of the `hapusdata` confirmation.
const ERASE_YES: &str = "hapusdata:ya";
const ERASE_NO: &str = "hapusdata:batal";

/// Whether the answer to the `hapusdata` question confirms it: the button, or the words.
fn is_erase_confirmation(input: &Input) -> bool {
    match input {
        Input::Choice(c) => c == ERASE_YES,
        Input::Text(t) => matches!(
            t.trim().to_lowercase().as_str(),
            "ya" | "ya, hapus" | "hapus" | "yes" | "yes, erase" | "erase"
        ),
        _ => false,
    }
}

fn is_skip(t: &str) -> bool {
    matches!(
        t.trim().to_lowercase().as_str(),
        "-" | "lewati" | "skip" | "tidak ada" | "none" | "n/a"
    )
}

fn is_done_word(t: &str) -> bool {
    matches!(
        t.trim().to_lowercase().as_str(),
        "selesai" | "lanjut" | "done" | "next" | "continue" | "finish"
    )
}

/// The output being built by one step.
struct Out<'b> {
    bot: &'b Bot,
    conv: Conversation,
    effects: Vec<Effect>,
}

impl Out<'_> {
    fn lang(&self) -> String {
        self.conv.lang.clone()
    }
    fn say(&mut self, text: String, choices: Vec<OutboundChoice>) {
        self.effects.push(Effect::Reply(Reply {
            text,
            choices,
            ask_contact: false,
        }));
    }
    fn sys(&mut self, key: &str) {
        let t = self.bot.sys(key, &self.lang());
        self.say(t, Vec::new());
    }
}

/// Moves a conversation by one input. Pure: the same arguments give the same result.
pub fn step(
    bot: &Bot,
    ctx: &Ctx,
    conv: &Conversation,
    input: &Input,
) -> (Conversation, Vec<Effect>) {
    let mut out = Out {
        bot,
        conv: conv.clone(),
        effects: Vec::new(),
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
        _ => None,
    };
    if std::mem::take(&mut out.conv.erase_asked) {
        if is_erase_confirmation(input) {
            out.effects.push(Effect::ErasePersonalData);
            out.conv.active = None;
            return (out.conv, out.effects);
        }
        out.sys("erase_kept");
        if matches!(input, Input::Choice(c) if c == ERASE_NO) {
            if out.conv.active.is_some() {
                prompt_current(&mut out, ctx);
            }
            return (out.conv, out.effects);
        }
    }
    if let Some(cmd) = text
        .as_deref()
        .and_then(|t| parse_command(t, &bot.languages))
    {
        command(&mut out, ctx, cmd);
        return (out.conv, out.effects);
    }
    if first_contact || out.conv.active.is_none() {
        // Outside a dialog, a person with an open case talks to the officers (hand-off).
        if !first_contact && hand_off(&mut out, ctx, input, text.as_deref()) {
            return (out.conv, out.effects);
        }
        // A question typed outside any dialog is answered from the FAQ when it matches well (two
        // keywords, or the entry's pattern); anything else opens the menu.
        if !first_contact
            && let Some(t) = &text
            && let Some((score, e)) = bot.faq.scored_match(t)
            && score >= 2
        {
            let lang = out.lang();
            let vars = render::common_vars(bot, ctx, &lang, None);
            let answer = fill(&pick(&e.answer, &lang, bot.default_lang()), &vars);
            out.say(answer, Vec::new());
            out.sys("menu_hint");
            return (out.conv, out.effects);
        }
        start_dialog(&mut out, ctx, "menu", None);
        return (out.conv, out.effects);
    }
    let clean = match (input, text) {
        (Input::Text(_), Some(t)) => Input::Text(t),
        (other, _) => other.clone(),
    };
    answer(&mut out, ctx, &clean);
    (out.conv, out.effects)
}

/// File types accepted outside a dialog (documents for an open case).
const CASE_FILE_TYPES: [&str; 8] = super::spec::DEFAULT_FILE_TYPES;

/// Outside any dialog, what a person with an open case sends goes to that case: text is
/// forwarded to the officers, files are attached, and `selesai` tells a case that waits on the
/// applicant that they are done. Returns false when there is no open case (or the input is a
/// bare number, which means the menu).
fn hand_off(out: &mut Out, ctx: &Ctx, input: &Input, text: Option<&str>) -> bool {
    let bot = out.bot;
    let lang = out.lang();
    let waiting = ctx.cases.iter().find(|c| c.open && c.waiting_on_applicant);
    let Some(target) = waiting.or_else(|| ctx.cases.iter().find(|c| c.open)) else {
        return false;
    };
    let case = target.number.to_string();
    match input {
        Input::File(f) => {
            let ext = f
                .filename
                .rsplit_once('.')
                .map(|(_, e)| e.to_lowercase())
                .unwrap_or_default();
            if !CASE_FILE_TYPES.contains(&ext.as_str()) {
                let m = fill(
                    &bot.sys("attachment_type", &lang),
                    &[("types", CASE_FILE_TYPES.join(", ").to_uppercase())],
                );
                out.say(m, Vec::new());
            } else if f.size > bot.max_attachment_bytes {
                let m = fill(
                    &bot.sys("attachment_size", &lang),
                    &[(
                        "max_mb",
                        bot.max_attachment_bytes.div_ceil(1024 * 1024).to_string(),
                    )],
                );
                out.say(m, Vec::new());
            } else {
                out.effects.push(Effect::KeepFile(f.blob.clone()));
                out.effects.push(Effect::AttachToCase {
                    case: target.number.clone(),
                    file: f.clone(),
                });
                let mut m = fill(
                    &bot.sys("file_attached", &lang),
                    &[("file", f.filename.clone()), ("case", case)],
                );
                if target.waiting_on_applicant {
                    m.push('\n');
                    m.push_str(&bot.sys("waiting_done_hint", &lang));
                }
                out.say(m, Vec::new());
            }
            true
        }
        Input::Text(t) | Input::Choice(t) => {
            let t = text.unwrap_or(t);
            if t.trim().parse::<u64>().is_ok() {
                return false;
            }
            if target.waiting_on_applicant && is_done_word(t) {
                out.effects.push(Effect::ApplicantDone {
                    case: target.number.clone(),
                });
                return true;
            }
            out.effects.push(Effect::Forward {
                case: target.number.clone(),
                text: t.to_string(),
            });
            let vars = render::common_vars(bot, ctx, &lang, None);
            let hours_note = vars
                .iter()
                .find(|(k, _)| *k == "hours_note")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let mut m = fill(
                &bot.sys("forwarded", &lang),
                &[("case", case), ("hours_note", hours_note)],
            );
            if target.waiting_on_applicant {
                m.push('\n');
                m.push_str(&bot.sys("waiting_done_hint", &lang));
            }
            out.say(m, Vec::new());
            true
        }
        Input::Contact { .. } => false,
    }
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

fn current_choices(out: &Out, ctx: &Ctx) -> Vec<OutboundChoice> {
    match (current(out.bot, &out.conv), out.conv.active.as_ref()) {
        (Some((_, s)), Some(a)) => {
            render::step_choices(out.bot, ctx, s, &a.answers, &out.conv.lang)
        }
        _ => Vec::new(),
    }
}

fn command(out: &mut Out, ctx: &Ctx, cmd: Command) {
    let bot = out.bot;
    match cmd {
        Command::Menu => {
            if out.conv.active.as_ref().is_some_and(|a| a.dialog != "menu") {
                out.sys("left_dialog");
            }
            out.conv.active = None;
            start_dialog(out, ctx, "menu", None);
        }
        Command::Cancel => {
            if out.conv.active.as_ref().is_some_and(|a| a.dialog != "menu") {
                out.sys("cancelled");
            }
            out.conv.active = None;
            start_dialog(out, ctx, "menu", None);
        }
        Command::Back => {
            let Some(a) = out.conv.active.as_mut() else {
                out.sys("nothing_to_go_back");
                return;
            };
            if a.sub != SubState::None {
                a.sub = SubState::None;
            } else if let Some(prev) = a.trail.pop() {
                a.step = prev;
                a.editing = false;
            } else {
                out.sys("nothing_to_go_back");
                return;
            }
            prompt_current(out, ctx);
        }
        Command::Help => {
            let lang = out.lang();
            if let Some((_, s)) = current(bot, &out.conv) {
                let help = s
                    .help
                    .as_ref()
                    .map(|h| pick(h, &lang, bot.default_lang()))
                    .unwrap_or_else(|| expectation(bot, s, &lang));
                out.say(help, Vec::new());
            }
            let commands = bot.sys("help_commands", &lang);
            let choices = current_choices(out, ctx);
            out.say(commands, choices);
        }
        Command::Language(code) => {
            let next = code.unwrap_or_else(|| {
                let i = bot
                    .languages
                    .iter()
                    .position(|l| *l == out.conv.lang)
                    .unwrap_or(0);
                bot.languages[(i + 1) % bot.languages.len()].clone()
            });
            out.conv.lang = next;
            out.sys("language_set");
            if out.conv.active.is_some() {
                prompt_current(out, ctx);
            } else {
                start_dialog(out, ctx, "menu", None);
            }
        }
        Command::Erase => {
            let lang = out.lang();
            if ctx.guest.is_none() && ctx.cases.is_empty() {
                out.sys("mydata_none");
                return;
            }
            let open: Vec<String> = ctx
                .cases
                .iter()
                .filter(|c| c.open)
                .map(|c| c.number.to_string())
                .collect();
            let open_note = if open.is_empty() {
                String::new()
            } else {
                fill(
                    &bot.sys("erase_open_cases", &lang),
                    &[("cases", open.join(", "))],
                )
            };
            let text = fill(&bot.sys("erase_confirm", &lang), &[("open", open_note)]);
            let choices = vec![
                OutboundChoice {
                    value: ERASE_YES.into(),
                    label: bot.sys("erase_yes", &lang),
                },
                OutboundChoice {
                    value: ERASE_NO.into(),
                    label: bot.sys("erase_no", &lang),
                },
            ];
            out.say(text.trim_end().to_string(), choices);
            out.conv.erase_asked = true;
        }
        Command::MyData => {
            let lang = out.lang();
            match ctx.guest {
                None => out.sys("mydata_none"),
                Some(g) => {
                    let mut lines = Vec::new();
                    if let Some(gb) = bot.dialogs.get("guestbook") {
                        lines.push(render::summary_text(bot, gb, &g.profile, &lang));
                    }
                    let cases = ctx
                        .cases
                        .iter()
                        .map(|c| c.number.to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let text = fill(
                        &bot.sys("mydata", &lang),
                        &[
                            ("profile", lines.join("\n")),
                            (
                                "consent",
                                format!(
                                    "{} ({})",
                                    g.consent_version,
                                    bot.calendar.format_local(g.consent_at, &lang)
                                ),
                            ),
                            ("cases", if cases.is_empty() { "-".into() } else { cases }),
                        ],
                    );
                    out.say(text, Vec::new());
                }
            }
            if out.conv.active.is_some() {
                prompt_current(out, ctx);
            }
        }
    }
}

/// What a step expects, as a short sentence (used by `bantuan` when the step has no help).
fn expectation(bot: &Bot, step: &Step, lang: &str) -> String {
    let key = match &step.kind {
        StepKind::Text { .. } => "expect_text",
        StepKind::Choice {
            multiple: false, ..
        }
        | StepKind::CasePick { .. }
        | StepKind::Cart => "expect_choice",
        StepKind::Choice { multiple: true, .. } => "expect_choices",
        StepKind::YesNo { .. } | StepKind::Summary => "expect_yes_no",
        StepKind::Email { .. } => "expect_email",
        StepKind::Phone {
            mobile_only: true, ..
        } => "expect_mobile",
        StepKind::Phone { .. } => "expect_phone",
        StepKind::Date { .. } => "expect_date",
        StepKind::Appointment { .. } => "expect_appointment",
        StepKind::Number { .. } => "expect_number",
        StepKind::Attachment { .. } => "expect_attachment",
        StepKind::ActivitySearch | StepKind::Faq | StepKind::CaseStatus => "menu_hint",
    };
    let max = bot.max_attachment_bytes.div_ceil(1024 * 1024).to_string();
    let types = match &step.kind {
        StepKind::Attachment { accept, .. } => accept.join(", ").to_uppercase(),
        _ => String::new(),
    };
    fill(&bot.sys(key, lang), &[("max_mb", max), ("types", types)])
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

/// Shows the current step's prompt (or skips it when there is nothing to ask).
fn enter_step(out: &mut Out, ctx: &Ctx) {
    let bot = out.bot;
    let Some((d, s)) = current(bot, &out.conv) else {
        out.conv.active = None;
        return;
    };
    if let StepKind::CasePick { filter } = &s.kind {
        let any = ctx
            .cases
            .iter()
            .any(|c| *filter == CaseFilter::All || c.open);
        if !any {
            out.sys("case_pick_none");
            if s.optional {
                return accept(out, ctx, Answer::Skipped, None);
            }
            out.conv.active = None;
            out.sys("menu_hint");
            return;
        }
    }
    // SMS cannot carry files: an optional attachment is not asked for there (one exchange
    // fewer for the person); a required one is still asked, and its prompt says what to send.
    if s.optional
        && matches!(s.kind, StepKind::Attachment { .. })
        && ctx.identity.channel == crate::message::ChannelKind::Sms
    {
        return accept(out, ctx, Answer::Skipped, None);
    }
    let _ = d;
    prompt_current(out, ctx);
}

fn prompt_current(out: &mut Out, ctx: &Ctx) {
    let bot = out.bot;
    let Some((d, s)) = current(bot, &out.conv) else {
        return;
    };
    let a = out.conv.active.as_ref().expect("current() found it");
    let lang = out.lang();
    if a.sub == SubState::PickField {
        return ask_pick_field(out, d);
    }
    if let SubState::CartQuantity(code) = &a.sub {
        return ask_quantity(out, code.clone());
    }
    let r = render::prompt(bot, ctx, s, &a.answers, d, &lang);
    out.effects.push(Effect::Reply(r));
}

/// A wrong answer: say what is expected, with the step's buttons again.
fn reprompt(out: &mut Out, ctx: &Ctx, key: &str, vars: &[(&str, String)]) {
    let lang = out.lang();
    let text = fill(&out.bot.sys(key, &lang), vars);
    let choices = current_choices(out, ctx);
    let phone = matches!(current(out.bot, &out.conv), Some((_, s)) if matches!(s.kind, StepKind::Phone { .. }));
    out.effects.push(Effect::Reply(Reply {
        text,
        choices,
        ask_contact: phone,
    }));
}

/// Handles an answer to the current step.
fn answer(out: &mut Out, ctx: &Ctx, input: &Input) {
    let bot = out.bot;
    let Some((d, s)) = current(bot, &out.conv) else {
        out.conv.active = None;
        return start_dialog(out, ctx, "menu", None);
    };
    let lang = out.lang();
    let a = out.conv.active.clone().expect("current() found it");

    if let Input::Text(t) = input
        && t.is_empty()
    {
        return reprompt(out, ctx, "empty_answer", &[]);
    }
    if let Input::File(_) = input
        && !matches!(s.kind, StepKind::Attachment { .. })
    {
        return reprompt(out, ctx, "not_expected_file", &[]);
    }
    if let Input::Contact { .. } = input
        && !matches!(s.kind, StepKind::Phone { .. })
    {
        return reprompt(out, ctx, "unsupported_input", &[]);
    }
    // Sub-states first.
    match &a.sub {
        SubState::PickField => return pick_field(out, ctx, d, input),
        SubState::CartQuantity(code) => return cart_quantity(out, ctx, s, code.clone(), input),
        SubState::None => {}
    }
    let mut text = match input {
        Input::Text(t) => t.as_str(),
        Input::Choice(c) => c.as_str(),
        _ => "",
    };
    // Every button is also answerable by its number; kinds whose buttons are not already
    // numbered options map the number to the button's value here.
    let buttons;
    if matches!(
        s.kind,
        StepKind::YesNo { .. } | StepKind::Summary | StepKind::ActivitySearch | StepKind::Cart
    ) && let Ok(n) = text.trim().parse::<usize>()
    {
        buttons = render::step_choices(bot, ctx, s, &a.answers, &lang);
        if let Some(b) = n.checked_sub(1).and_then(|i| buttons.get(i)) {
            text = b.value.as_str();
        }
    }
    if s.optional && is_skip(text) && !matches!(s.kind, StepKind::Summary) {
        return accept(out, ctx, Answer::Skipped, None);
    }
    match &s.kind {
        StepKind::Text {
            min_len,
            max_len,
            pattern,
            pattern_hint,
        } => {
            let Input::Text(t) = input else {
                return reprompt(out, ctx, "expect_text", &[]);
            };
            let n = t.chars().count();
            if !input::has_alphanumeric(t) {
                return reprompt(out, ctx, "text_needs_letters", &[]);
            }
            if n < *min_len {
                return reprompt(out, ctx, "text_too_short", &[("min", min_len.to_string())]);
            }
            if n > *max_len {
                return reprompt(
                    out,
                    ctx,
                    "text_too_long",
                    &[("max", max_len.to_string()), ("len", n.to_string())],
                );
            }
            if let Some(p) = pattern
                && !p.is_match(t)
            {
                let hint = pattern_hint
                    .as_ref()
                    .map(|h| pick(h, &lang, bot.default_lang()))
                    .unwrap_or_default();
                return reprompt(out, ctx, "text_pattern", &[("hint", hint)]);
            }
            accept(out, ctx, Answer::Text(t.clone()), None)
        }
        StepKind::Choice { options, multiple } => {
            if *multiple {
                let mut chosen: Vec<String> = Vec::new();
                for part in text.split([',', ';', '/', '\n']).flat_map(|p| {
                    // "1 3 4" is three numbers; "wawancara telepon" is one label.
                    if p.split_whitespace().all(|w| w.parse::<usize>().is_ok()) {
                        p.split_whitespace().map(str::to_string).collect::<Vec<_>>()
                    } else {
                        vec![p.to_string()]
                    }
                }) {
                    let part = part.trim();
                    if part.is_empty() {
                        continue;
                    }
                    match match_option(options, part) {
                        Some(i) => {
                            if !chosen.contains(&options[i].value) {
                                chosen.push(options[i].value.clone());
                            }
                        }
                        None => return reprompt(out, ctx, "expect_choices", &[]),
                    }
                }
                if chosen.is_empty() {
                    return reprompt(out, ctx, "expect_choices", &[]);
                }
                accept(out, ctx, Answer::Choices(chosen), None)
            } else {
                match match_option(options, text) {
                    Some(i) => {
                        let o = &options[i];
                        accept(out, ctx, Answer::Choice(o.value.clone()), o.next.clone())
                    }
                    None => reprompt(out, ctx, "expect_choice", &[]),
                }
            }
        }
        StepKind::YesNo { next_yes, next_no } => match yes_no(text) {
            Some(true) => accept(out, ctx, Answer::Bool(true), next_yes.clone()),
            Some(false) => accept(out, ctx, Answer::Bool(false), next_no.clone()),
            None => reprompt(out, ctx, "expect_yes_no", &[]),
        },
        StepKind::Email { prefill } => {
            if *prefill
                && yes_no(text) == Some(true)
                && let Some(e) = ctx.identity.email()
            {
                return accept(out, ctx, Answer::Email(e.to_string()), None);
            }
            match input::parse_email(text) {
                Some(e) => accept(out, ctx, Answer::Email(e), None),
                None => reprompt(out, ctx, "expect_email", &[]),
            }
        }
        StepKind::Phone {
            mobile_only,
            prefill,
        } => {
            let candidate = match input {
                Input::Contact { own: false, .. } => {
                    return reprompt(out, ctx, "contact_not_own", &[]);
                }
                Input::Contact { phone, own: true } => phone.clone(),
                _ if *prefill && yes_no(text) == Some(true) && ctx.identity.phone().is_some() => {
                    ctx.identity.phone().unwrap_or_default().to_string()
                }
                _ => text.to_string(),
            };
            match input::normalize_phone(&candidate, *mobile_only) {
                Ok(p) => accept(out, ctx, Answer::Phone(p), None),
                Err(PhoneError::NotMobile) => reprompt(out, ctx, "expect_mobile", &[]),
                Err(PhoneError::NotANumber) => reprompt(
                    out,
                    ctx,
                    if *mobile_only {
                        "expect_mobile"
                    } else {
                        "expect_phone"
                    },
                    &[],
                ),
            }
        }
        StepKind::Date {
            min,
            max,
            not_before_field,
        } => {
            let Some(date) = input::parse_date(text) else {
                return reprompt(out, ctx, "expect_date", &[]);
            };
            let today = bot.calendar.local(ctx.now).date();
            let bound = |b: &DateBound| match b {
                DateBound::Today => today,
                DateBound::Fixed(d) => *d,
            };
            if let Some(m) = min.as_ref().map(bound)
                && date < m
            {
                return reprompt(
                    out,
                    ctx,
                    "date_too_early",
                    &[("date", crate::cases::calendar::format_date(m, &lang, false))],
                );
            }
            if let Some(m) = max.as_ref().map(bound)
                && date > m
            {
                return reprompt(
                    out,
                    ctx,
                    "date_too_late",
                    &[("date", crate::cases::calendar::format_date(m, &lang, false))],
                );
            }
            if let Some(f) = not_before_field
                && let Some(Answer::Date(other)) = a.answers.get(f)
                && date < *other
            {
                return reprompt(
                    out,
                    ctx,
                    "date_before_field",
                    &[(
                        "date",
                        crate::cases::calendar::format_date(*other, &lang, false),
                    )],
                );
            }
            accept(out, ctx, Answer::Date(date), None)
        }
        StepKind::Appointment {
            min_lead_minutes,
            max_days_ahead,
        } => {
            let cal = &bot.calendar;
            let today = cal.local(ctx.now).date();
            let Some(local) = input::parse_local_datetime(text, today) else {
                return reprompt(out, ctx, "expect_appointment", &[]);
            };
            let at = cal.to_utc(local);
            let earliest = ctx.now + Duration::minutes(*min_lead_minutes);
            if at < earliest {
                return reprompt(
                    out,
                    ctx,
                    "appointment_too_soon",
                    &[("minutes", min_lead_minutes.to_string())],
                );
            }
            if at > ctx.now + Duration::days(*max_days_ahead) {
                return reprompt(
                    out,
                    ctx,
                    "appointment_too_far",
                    &[("days", max_days_ahead.to_string())],
                );
            }
            if !cal.is_open_at(at) {
                return reprompt(
                    out,
                    ctx,
                    "appointment_closed",
                    &[("hours", cal.hours_text(&lang))],
                );
            }
            accept(out, ctx, Answer::DateTime(at), None)
        }
        StepKind::Number { min, max, integer } => {
            let Some(n) = input::parse_number(text) else {
                return reprompt(out, ctx, "expect_number", &[]);
            };
            if *integer && n.fract() != 0.0 {
                return reprompt(out, ctx, "number_whole", &[]);
            }
            if n < *min || n > *max {
                let f = |x: f64| {
                    if x.fract() == 0.0 {
                        format!("{}", x as i64)
                    } else {
                        x.to_string()
                    }
                };
                return reprompt(
                    out,
                    ctx,
                    "number_range",
                    &[("min", f(*min)), ("max", f(*max))],
                );
            }
            accept(out, ctx, Answer::Number(n), None)
        }
        StepKind::Attachment {
            accept: types,
            max_bytes,
        } => {
            let Input::File(f) = input else {
                return reprompt(
                    out,
                    ctx,
                    if s.optional {
                        "skip_hint"
                    } else {
                        "expect_attachment"
                    },
                    &attachment_vars(bot, types),
                );
            };
            let ext = f
                .filename
                .rsplit_once('.')
                .map(|(_, e)| e.to_lowercase())
                .unwrap_or_default();
            if !types.contains(&ext) {
                return reprompt(
                    out,
                    ctx,
                    "attachment_type",
                    &[("types", types.join(", ").to_uppercase())],
                );
            }
            let limit = max_bytes
                .unwrap_or(bot.max_attachment_bytes)
                .min(bot.max_attachment_bytes);
            if f.size > limit {
                return reprompt(
                    out,
                    ctx,
                    "attachment_size",
                    &[("max_mb", limit.div_ceil(1024 * 1024).to_string())],
                );
            }
            out.effects.push(Effect::KeepFile(f.blob.clone()));
            let msg = fill(
                &bot.sys("attachment_received", &lang),
                &[("file", f.filename.clone())],
            );
            out.say(msg, Vec::new());
            accept(out, ctx, Answer::File(f.clone()), None)
        }
        StepKind::Summary => match summary_choice(text) {
            Some(true) => advance(out, ctx, s.next.clone()),
            Some(false) => {
                if let Some(act) = out.conv.active.as_mut() {
                    act.sub = SubState::PickField;
                }
                ask_pick_field(out, d);
            }
            None => reprompt(out, ctx, "expect_yes_no", &[]),
        },
        StepKind::Cart => {
            if is_done_word(text) {
                return match a.answers.get(&s.field) {
                    Some(Answer::Cart(l)) if !l.is_empty() => advance(out, ctx, s.next.clone()),
                    _ => reprompt(out, ctx, "cart_empty", &[]),
                };
            }
            let by_number = text
                .trim()
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| bot.catalog.products.get(i));
            match by_number.or_else(|| bot.catalog.product(text.trim())) {
                Some(p) => {
                    let code = p.code.clone();
                    if let Some(act) = out.conv.active.as_mut() {
                        act.sub = SubState::CartQuantity(code.clone());
                    }
                    ask_quantity(out, code);
                }
                None => reprompt(out, ctx, "cart_unknown", &[]),
            }
        }
        StepKind::ActivitySearch => {
            if is_done_word(text) {
                return advance(out, ctx, s.next.clone());
            }
            let mut hits: Vec<&Activity> = search_activities(ctx.issued, text, 5);
            for h in search_activities(&bot.activities.activities, text, 5) {
                if hits.len() < 5 {
                    hits.push(h);
                }
            }
            let choices = vec![OutboundChoice {
                value: "next".into(),
                label: bot.sys("search_more", &lang),
            }];
            if hits.is_empty() {
                let m = fill(
                    &bot.sys("search_none", &lang),
                    &[("query", text.to_string())],
                );
                out.say(m, choices);
            } else {
                let list = hits
                    .iter()
                    .map(|h| {
                        format!(
                            "• {} — {} ({}){}",
                            h.title,
                            h.organiser,
                            h.year,
                            h.letter
                                .as_ref()
                                .map(|l| format!(", {l}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let m = fill(&bot.sys("search_results", &lang), &[("results", list)]);
                out.say(m, choices);
            }
        }
        StepKind::Faq => {
            let by_choice = bot.faq.entries.iter().find(|e| e.id == text);
            let by_number = text
                .trim()
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| bot.faq.entries.get(i));
            match by_choice.or(by_number).or_else(|| bot.faq.best_match(text)) {
                Some(e) => {
                    let vars = render::common_vars(bot, ctx, &lang, None);
                    let ans = fill(&pick(&e.answer, &lang, bot.default_lang()), &vars);
                    out.say(ans, Vec::new());
                    let more = bot.sys("faq_more", &lang);
                    out.say(more, Vec::new());
                }
                None => reprompt(out, ctx, "faq_no_match", &[]),
            }
        }
        StepKind::CaseStatus => {
            let own =
                CaseNumber::parse(text).and_then(|n| ctx.cases.iter().find(|c| c.number == n));
            match own {
                Some(c) => {
                    let m = fill(
                        &bot.sys("status_detail", &lang),
                        &[
                            ("case", c.number.to_string()),
                            ("title", c.title.clone()),
                            ("stage", bot.stage_label(c.number.service, &c.stage, &lang)),
                            ("due", render::due_text(bot, c, &lang)),
                            ("created", bot.calendar.format_local(c.created_at, &lang)),
                        ],
                    );
                    out.say(m, Vec::new());
                    out.sys("menu_hint");
                }
                // The same answer for unknown and other people's cases: nothing leaks.
                None => reprompt(out, ctx, "status_not_found", &[]),
            }
        }
        StepKind::CasePick { filter } => {
            let eligible: Vec<&CaseSummary> = ctx
                .cases
                .iter()
                .filter(|c| *filter == CaseFilter::All || c.open)
                .collect();
            let by_number = text
                .trim()
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| eligible.get(i).copied());
            let by_case = CaseNumber::parse(text)
                .and_then(|n| eligible.iter().copied().find(|c| c.number == n));
            match by_case.or(by_number) {
                Some(c) => accept(out, ctx, Answer::Case(c.number.clone()), None),
                None => reprompt(out, ctx, "expect_choice", &[]),
            }
        }
    }
}

fn attachment_vars(bot: &Bot, types: &[String]) -> Vec<(&'static str, String)> {
    vec![
        ("types", types.join(", ").to_uppercase()),
        (
            "max_mb",
            bot.max_attachment_bytes.div_ceil(1024 * 1024).to_string(),
        ),
    ]
}

fn yes_no(text: &str) -> Option<bool> {
    match text {
        "yes" => Some(true),
        "no" => Some(false),
        t => input::parse_yes_no(t),
    }
}

fn summary_choice(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "send" | "kirim" | "submit" | "simpan" | "save" => Some(true),
        "change" | "ubah" | "edit" | "ganti" | "perbaiki" => Some(false),
        t => input::parse_yes_no(t),
    }
}

/// The index of the option a text names: its number, its value, or its label in any language.
fn match_option(options: &[super::spec::ChoiceOption], text: &str) -> Option<usize> {
    let t = text.trim().trim_end_matches('.').to_lowercase();
    if t.is_empty() {
        return None;
    }
    if let Ok(n) = t.parse::<usize>() {
        return n.checked_sub(1).filter(|i| *i < options.len());
    }
    options
        .iter()
        .position(|o| o.value.to_lowercase() == t)
        .or_else(|| {
            options
                .iter()
                .position(|o| o.label.values().any(|l| l.trim().to_lowercase() == t))
        })
}

/// Stores an answer and moves on (to the summary, when the person was changing an answer).
fn accept(out: &mut Out, ctx: &Ctx, value: Answer, branch: Option<Next>) {
    let bot = out.bot;
    let Some((d, s)) = current(bot, &out.conv) else {
        return;
    };
    let a = out.conv.active.as_mut().expect("current() found it");
    a.answers.insert(s.field.clone(), value);
    a.trail.push(s.id.clone());
    a.sub = SubState::None;
    let next = if a.editing && branch.is_none() {
        a.editing = false;
        d.steps
            .iter()
            .find(|x| matches!(x.kind, StepKind::Summary))
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
        Next::Finish => finish(out, ctx),
        Next::Start(d) => {
            out.conv.active = None;
            start_dialog(out, ctx, &d, None);
        }
    }
}

fn ask_pick_field(out: &mut Out, d: &Dialog) {
    let bot = out.bot;
    let lang = out.lang();
    let a = out.conv.active.as_ref().expect("in a dialog");
    let choices = render::answered(d, &a.answers)
        .iter()
        .map(|(s, _)| OutboundChoice {
            value: s.id.clone(),
            label: s
                .label
                .as_ref()
                .map(|l| pick(l, &lang, bot.default_lang()))
                .unwrap_or_default(),
        })
        .collect();
    let text = bot.sys("summary_pick_field", &lang);
    out.say(text, choices);
}

fn pick_field(out: &mut Out, ctx: &Ctx, d: &Dialog, input: &Input) {
    let text = match input {
        Input::Text(t) | Input::Choice(t) => t.trim().to_lowercase(),
        _ => String::new(),
    };
    let a = out.conv.active.as_ref().expect("in a dialog");
    let fields = render::answered(d, &a.answers);
    let by_number = text
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| fields.get(i));
    let by_name = fields.iter().find(|(s, _)| {
        s.id == text
            || s.label
                .as_ref()
                .is_some_and(|l| l.values().any(|v| v.to_lowercase() == text))
    });
    match by_number.or(by_name) {
        Some((s, _)) => {
            let id = s.id.clone();
            let a = out.conv.active.as_mut().expect("in a dialog");
            let summary = a.step.clone();
            a.trail.push(summary);
            a.step = id;
            a.sub = SubState::None;
            a.editing = true;
            prompt_current(out, ctx);
        }
        None => {
            let lang = out.lang();
            let msg = out.bot.sys("expect_choice", &lang);
            out.say(msg, Vec::new());
            ask_pick_field(out, d);
        }
    }
}

fn ask_quantity(out: &mut Out, code: String) {
    let bot = out.bot;
    let lang = out.lang();
    let dl = bot.default_lang();
    if let Some(p) = bot.catalog.product(&code) {
        let msg = fill(
            &bot.sys("cart_quantity", &lang),
            &[
                ("product", pick(&p.name, &lang, dl)),
                ("unit", pick(&p.unit, &lang, dl)),
                ("tariff", rupiah(p.tariff)),
                ("max", p.max_quantity.to_string()),
            ],
        );
        out.say(msg, Vec::new());
    }
}

fn cart_quantity(out: &mut Out, ctx: &Ctx, step: &Step, code: String, input: &Input) {
    let bot = out.bot;
    let lang = out.lang();
    let Some(p) = bot.catalog.product(&code) else {
        if let Some(a) = out.conv.active.as_mut() {
            a.sub = SubState::None;
        }
        return prompt_current(out, ctx);
    };
    let text = match input {
        Input::Text(t) | Input::Choice(t) => t.as_str(),
        _ => "",
    };
    let qty = input::parse_number(text)
        .filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= f64::from(p.max_quantity));
    let Some(qty) = qty else {
        return reprompt(
            out,
            ctx,
            "number_range",
            &[("min", "1".into()), ("max", p.max_quantity.to_string())],
        );
    };
    let qty = qty as u32;
    let a = out.conv.active.as_mut().expect("in a dialog");
    let mut lines = match a.answers.get(&step.field) {
        Some(Answer::Cart(l)) => l.clone(),
        _ => Vec::new(),
    };
    match lines.iter_mut().find(|l| l.code == p.code) {
        Some(l) => l.quantity = qty,
        None => lines.push(CartLine {
            code: p.code.clone(),
            quantity: qty,
            unit_tariff: p.tariff,
        }),
    }
    let (_, total) = render::cart_text(bot, &lines, &lang);
    a.answers.insert(step.field.clone(), Answer::Cart(lines));
    a.sub = SubState::None;
    let msg = fill(
        &bot.sys("cart_added", &lang),
        &[
            ("product", pick(&p.name, &lang, bot.default_lang())),
            ("quantity", qty.to_string()),
            ("subtotal", rupiah(p.tariff.saturating_mul(u64::from(qty)))),
            ("total", rupiah(total)),
        ],
    );
    out.say(msg, Vec::new());
    prompt_current(out, ctx);
}

/// Runs the dialog's finish action and says its message.
fn finish(out: &mut Out, ctx: &Ctx) {
    let bot = out.bot;
    let lang = out.lang();
    let dl = bot.default_lang().to_string();
    let Some(a) = out.conv.active.take() else {
        return;
    };
    let Some(d) = bot.dialogs.get(&a.dialog) else {
        return;
    };
    let name = a
        .answers
        .get("name")
        .and_then(Answer::as_text)
        .map(str::to_string);
    let mut vars = render::common_vars(bot, ctx, &lang, name.as_deref());
    match &d.finish.action {
        FinishAction::None => {}
        FinishAction::SaveGuest => {
            let mut profile = a.answers.clone();
            profile.remove("consent");
            let consent_text = d
                .steps
                .iter()
                .find(|s| s.id == "consent")
                .map(|s| {
                    pick(&s.prompt, &lang, bot.default_lang())
                        .trim()
                        .to_string()
                })
                .unwrap_or_default();
            out.effects.push(Effect::SaveGuest {
                profile,
                consent_version: bot.consent_version.clone(),
                consent_text,
                visit_for: a.then.clone(),
            });
        }
        FinishAction::CreateCase(service) => {
            let answered = render::answered(d, &a.answers);
            let form: Vec<FormField> = answered
                .iter()
                .map(|(s, v)| FormField {
                    field: s.field.clone(),
                    label: s
                        .label
                        .as_ref()
                        .map(|l| pick(l, &lang, &dl))
                        .unwrap_or_default(),
                    value: (*v).clone(),
                })
                .collect();
            let attachments: Vec<AttachmentRef> = answered
                .iter()
                .filter_map(|(_, v)| match v {
                    Answer::File(f) => Some(f.clone()),
                    _ => None,
                })
                .collect();
            let cart: Vec<CartLine> = a
                .answers
                .values()
                .find_map(|v| match v {
                    Answer::Cart(l) => Some(l.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let title = match &d.finish.title_field {
                Some(f) => a
                    .answers
                    .get(f)
                    .map(|v| {
                        render::display_answer(
                            bot,
                            d.steps.iter().find(|s| &s.field == f),
                            v,
                            &lang,
                        )
                    })
                    .unwrap_or_default(),
                None if !cart.is_empty() => cart
                    .iter()
                    .map(|l| {
                        bot.catalog
                            .product(&l.code)
                            .map(|p| pick(&p.name, &lang, &dl))
                            .unwrap_or_else(|| l.code.clone())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                None => pick(&d.title, &lang, &dl),
            };
            let title: String = title.chars().take(120).collect();
            out.effects.push(Effect::CreateCase {
                service: *service,
                title,
                form,
                attachments,
                confidential: a.answers.get("confidential") == Some(&Answer::Bool(true)),
            });
            let (_, total) = render::cart_text(bot, &cart, &lang);
            let docs = render::cart_documents(bot, &cart, &lang);
            vars.push(("case", CASE_MARKER.to_string()));
            vars.push((
                "standard",
                bot.workflows
                    .get(service)
                    .map(|w| pick(&w.standard, &lang, &dl))
                    .unwrap_or_default(),
            ));
            vars.push(("total", rupiah(total)));
            vars.push((
                "documents",
                if docs.is_empty() {
                    "-".into()
                } else {
                    docs.iter()
                        .map(|d| format!("• {d}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            ));
        }
        FinishAction::SaveRating => {
            let score = match a.answers.get("score") {
                Some(Answer::Choice(v)) => v.parse::<u8>().ok().filter(|n| (1..=5).contains(n)),
                _ => None,
            };
            let skm: Option<[u8; 9]> = (1..=9)
                .map(|i| match a.answers.get(&format!("skm_{i}")) {
                    Some(Answer::Choice(v)) => v.parse::<u8>().ok().filter(|n| (1..=4).contains(n)),
                    _ => None,
                })
                .collect::<Option<Vec<u8>>>()
                .and_then(|v| v.try_into().ok());
            if let Some(score) = score {
                out.effects.push(Effect::SaveRating {
                    case: match a.answers.get("case") {
                        Some(Answer::Case(n)) => Some(n.clone()),
                        _ => None,
                    },
                    score,
                    comment: a
                        .answers
                        .get("comment")
                        .and_then(Answer::as_text)
                        .map(str::to_string),
                    skm,
                });
            }
        }
        FinishAction::BookAppointment => {
            if let Some(Answer::DateTime(at)) = a.answers.get("when") {
                out.effects.push(Effect::BookAppointment {
                    at: *at,
                    topic: a
                        .answers
                        .get("topic")
                        .and_then(Answer::as_text)
                        .unwrap_or_default()
                        .to_string(),
                });
                vars.push(("appointment", bot.calendar.format_local(*at, &lang)));
            }
        }
    }
    if let Some(m) = &d.finish.message {
        let text = fill(&pick(m, &lang, &dl), &vars);
        out.say(text, Vec::new());
    }
    match a.then {
        Some(next) if d.finish.action == FinishAction::SaveGuest => {
            start_dialog(out, ctx, &next, Some("guestbook".into()));
            // The next dialog no longer needs the guest book: mark it started from it.
            if let Some(act) = out.conv.active.as_mut() {
                act.then = None;
            }
        }
        _ => {
            if d.id != "menu" {
                out.sys("menu_hint");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_in_both_languages() {
        let langs = vec!["id".to_string(), "en".to_string()];
        assert_eq!(parse_command(" Batal ", &langs), Some(Command::Cancel));
        assert_eq!(parse_command("/menu", &langs), Some(Command::Menu));
        assert_eq!(parse_command("back", &langs), Some(Command::Back));
        assert_eq!(
            parse_command("bahasa en", &langs),
            Some(Command::Language(Some("en".into())))
        );
        assert_eq!(
            parse_command("language", &langs),
            Some(Command::Language(None))
        );
        assert_eq!(parse_command("bahasa jawa", &langs), None);
        assert_eq!(parse_command("menu makanan", &langs), None);
    }

    #[test]
    fn options_match_by_number_value_or_label() {
        let opt = |v: &str, id: &str, en: &str| super::super::spec::ChoiceOption {
            value: v.into(),
            label: [
                ("id".to_string(), id.to_string()),
                ("en".to_string(), en.to_string()),
            ]
            .into(),
            also: Vec::new(),
            next: None,
        };
        let options = vec![
            opt("L", "Laki-laki", "Male"),
            opt("P", "Perempuan", "Female"),
        ];
        assert_eq!(match_option(&options, "2"), Some(1));
        assert_eq!(match_option(&options, "p"), Some(1));
        assert_eq!(match_option(&options, "laki-laki"), Some(0));
        assert_eq!(match_option(&options, "FEMALE"), Some(1));
        assert_eq!(match_option(&options, "3"), None);
        assert_eq!(match_option(&options, "0"), None);
        assert_eq!(match_option(&options, "wanita"), None);
    }
}
