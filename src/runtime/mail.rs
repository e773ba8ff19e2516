//! E-mail on the message path: a mail read as a run of dialog answers ([`mail_steps`]), a mail
//! in the thread of a case (to its officers, with its files), and bounces of our own mail.

use super::effects::effects_plan;
use super::{Runtime, RuntimeError};
use crate::cases::{CaseNumber, CaseSummary};
use crate::dialogs::spec::StepKind;
use crate::dialogs::{self, Ctx, Effect, Input};
use crate::guestbook::Guest;
use crate::message::{
    Attachment, AttachmentRef, ChannelKind, Identity, MailParent, OutboundMessage, Topic,
};
use crate::plan::{Plan, PlanContext, attachment_ref};
use crate::store::{Commit, DedupeKey, GuestUpdate, StoreError};
use crate::understand::{self, IntentReading};
use std::collections::VecDeque;

impl Runtime {
    /// An e-mail in the thread of case `case` (by its headers or the number in its subject):
    /// when it comes from the case's applicant, its text goes to the officers on that case and
    /// its files are attached, and the applicant gets a short confirmation. Returns `false`
    /// (and changes nothing) when the sender is not that case's applicant or there is no such
    /// case: the caller then treats the mail as a new conversation. A mail handled before
    /// returns `true` and changes nothing.
    pub async fn handle_case_mail(
        &self,
        id: &str,
        from: &Identity,
        case: &CaseNumber,
        text: &str,
        files: &[Attachment],
    ) -> Result<bool, RuntimeError> {
        let key = DedupeKey::new(from, id);
        let _turn = self.turns.of(from).lock().await;
        let _shared = self.shared_turn(from)?;
        if self.store.is_handled(&key)? {
            return Ok(true);
        }
        let Some(c) = self.store.case(case)? else {
            return Ok(false);
        };
        let owner = c.origin == *from
            || self
                .store
                .guest_of(from)?
                .is_some_and(|g| g.id == c.guest_id)
            || self.store.guest_of(&c.origin)?.is_some_and(|g| {
                g.email()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&from.address))
            });
        if !owner {
            return Ok(false);
        }
        let mail = CaseMail {
            key: &key,
            from,
            case,
            case_lang: &c.lang,
            text,
            files,
        };
        // Its confirmation answers it: the e-mail channel adds its id to the case's thread.
        let parent = MailParent {
            id: id.to_string(),
            thread: Default::default(),
        };
        self.commit_planned(|ctx| Ok(mail.plan(ctx)?.answering(from, parent.clone())))
            .await?;
        Ok(true)
    }

    /// A bounce (a delivery status notification) or another automatic answer to our mail.
    /// For a bounce naming the address that failed, the address is marked failing (no more
    /// mail goes there until mail comes from it again) and the officers are told, masked.
    /// Nothing is sent to the sender. Handled once per message id.
    pub async fn handle_mail_bounce(
        &self,
        id: &str,
        from: &Identity,
        failed: Option<&str>,
        reason: &str,
    ) -> Result<(), RuntimeError> {
        let key = DedupeKey::new(from, id);
        if self.store.is_handled(&key)? {
            return Ok(());
        }
        let failed = failed.map(|a| Identity::new(ChannelKind::Email, a.trim().to_lowercase()));
        let mut reason = crate::message::clip(reason.trim(), 200);
        if let Some(a) = &failed {
            // The diagnostic often repeats the address: officers see it masked (without `*`,
            // the chats' bold markup).
            let masked = crate::message::mask_email_shown(&a.address);
            if let Ok(re) = regex::Regex::new(&format!("(?i){}", regex::escape(&a.address))) {
                reason = re.replace_all(&reason, masked.as_str()).into_owned();
            }
        }
        self.commit_planned(|ctx| {
            let mut commit = Commit::new(key.clone(), ctx.now, from.clone(), Default::default());
            commit.session = None;
            let mut out = Vec::new();
            if let Some(addr) = &failed {
                commit.address_failing = Some((addr.clone(), true));
                let cases = bounced_cases(ctx, &addr.address)?;
                let post = ctx.officer_text(
                    "officers_mail_bounced",
                    &[
                        ("address", crate::message::mask_email_shown(&addr.address)),
                        ("reason", reason.clone()),
                        ("cases", cases),
                    ],
                );
                out.push(OutboundMessage::text(Identity::officers(), post));
            }
            Ok(Plan {
                commit,
                render: Box::new(move |_| out.clone()),
            })
        })
        .await?;
        Ok(())
    }
}

/// The open cases of the applicant whose mail to `address` bounced (by the case's own
/// address or the e-mail in its applicant's guest book), for the officers to reach them
/// another way; `-` when there is none.
fn bounced_cases(ctx: &PlanContext, address: &str) -> Result<String, StoreError> {
    let mut numbers = Vec::new();
    for c in ctx.store.open_cases()? {
        let theirs = c
            .origin
            .email()
            .is_some_and(|e| e.eq_ignore_ascii_case(address))
            || ctx
                .store
                .email_of(&c.origin)?
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(address));
        if theirs {
            numbers.push(c.number.to_string());
        }
    }
    Ok(if numbers.is_empty() {
        "-".into()
    } else {
        numbers.join(", ")
    })
}

/// An applicant's mail on their case, as [`Runtime::handle_case_mail`] plans it.
struct CaseMail<'m> {
    key: &'m DedupeKey,
    from: &'m Identity,
    case: &'m CaseNumber,
    /// The case's language, for a sender with no conversation yet.
    case_lang: &'m str,
    text: &'m str,
    files: &'m [Attachment],
}

impl CaseMail<'_> {
    /// The text to the case's officers, each file (within the size limit) attached to the case,
    /// and a short confirmation to the applicant.
    fn plan(&self, ctx: &PlanContext) -> Result<Plan, StoreError> {
        let bot = ctx.bot;
        let case = self.case;
        let conv = ctx.store.session(self.from)?.unwrap_or_default();
        let lang = if conv.lang.is_empty() {
            self.case_lang.to_string()
        } else {
            conv.lang.clone()
        };
        let mut effects = Vec::new();
        let mut file_bytes = Vec::new();
        // `selesai`/`done` on a line of its own, in a mail on a case that waits on the
        // applicant, says they are done, as the same word does in chat (issue 20, item 9).
        let waiting = ctx
            .store
            .case(case)?
            .is_some_and(|c| c.open && c.summary().waiting_on_applicant);
        let (text, done) = without_done_lines(self.text, waiting);
        if !text.is_empty() {
            effects.push(Effect::Forward {
                case: case.clone(),
                text,
            });
        }
        let mut names = Vec::new();
        for f in self.files {
            let (r, bytes) = attachment_ref(f);
            if r.size > bot.max_attachment_bytes {
                continue;
            }
            names.push(r.filename.clone());
            effects.push(Effect::KeepFile(r.blob.clone()));
            effects.push(Effect::AttachToCase {
                case: case.clone(),
                file: r.clone(),
            });
            file_bytes.push((r.blob, bytes));
        }
        let files_line = if names.is_empty() {
            "-".to_string()
        } else {
            names.join(", ")
        };
        effects.push(Effect::Reply(dialogs::Reply {
            text: crate::text::fill(
                &bot.sys("email_case_added", &lang),
                &[("case", case.to_string()), ("files", files_line)],
            ),
            choices: Vec::new(),
            ask_contact: false,
        }));
        if done {
            effects.push(Effect::ApplicantDone { case: case.clone() });
        }
        let guest = ctx.store.guest_of(self.from)?;
        let mut conv = conv;
        conv.lang = lang;
        let mut plan = effects_plan(
            ctx,
            self.key.clone(),
            self.from,
            guest,
            conv,
            effects,
            file_bytes,
        )?;
        // The confirmation belongs to the case's thread (issue 20, item 10): as a mail about
        // the case it carries the case's subject and references, not the desk's.
        let (render, from, case) = (plan.render, self.from.clone(), case.to_string());
        plan.render = Box::new(move |applied| {
            render(applied)
                .into_iter()
                .map(|m| match m.topic {
                    None if m.to == from => m.about(Topic::case("email_case_added", &case, &[])),
                    _ => m,
                })
                .collect()
        });
        Ok(plan)
    }
}

/// A case mail's text without its lines that are only a done word (`selesai`, `done`), and
/// whether there was one; the text as it is when the case does not wait on the applicant.
fn without_done_lines(text: &str, waiting: bool) -> (String, bool) {
    if !waiting {
        return (text.trim().to_string(), false);
    }
    let mut done = false;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let is_done = crate::dialogs::input::is_done_word(l.trim());
            done |= is_done;
            !is_done
        })
        .collect();
    (kept.join("\n").trim().to_string(), done)
}

/// An e-mail's lines and files, read as answers one at a time.
struct MailLines<'t> {
    lines: Vec<&'t str>,
    at: usize,
    files: VecDeque<AttachmentRef>,
    /// The first line of a first mail is also the greeting (it sets the language); it is then
    /// read again as the answer to the menu.
    first: bool,
}

impl MailLines<'_> {
    /// The next answer for a step of `kind`, with the line it starts at; `None` when the mail
    /// is used up. A long free-text question takes the lines up to the next empty line, and a
    /// question that asks for a file takes the next attachment.
    fn next(&mut self, kind: Option<StepKind>) -> Option<(usize, Input)> {
        let lines = &self.lines;
        while self.at < lines.len() && lines[self.at].is_empty() {
            self.at += 1;
        }
        let start = self.at;
        let input = match kind {
            Some(StepKind::Attachment(_)) if !self.files.is_empty() => {
                Input::File(self.files.pop_front().expect("not empty"))
            }
            _ if self.at >= lines.len() => return None,
            Some(StepKind::Text(text)) if text.max_len > 200 => {
                let end = lines[self.at..]
                    .iter()
                    .position(|l| l.is_empty())
                    .map_or(lines.len(), |n| self.at + n);
                let answer = lines[self.at..end].join("\n");
                self.at = end;
                Input::Text(answer)
            }
            _ => {
                let answer = lines[self.at].to_string();
                if !self.first {
                    self.at += 1;
                }
                self.first = false;
                Input::Text(answer)
            }
        };
        Some((start, input))
    }

    /// Whether the next line is the first line of a first mail, to be read twice (as the
    /// greeting, then as the answer to the menu).
    fn first_pending(&self) -> bool {
        self.first
    }

    /// The first line was enough (it started a service): do not read it again.
    fn consume_first(&mut self) {
        self.at += 1;
    }

    /// The rest of the mail from line `start`, as one text.
    fn rest(&self, start: usize) -> String {
        self.lines[start..].join("\n").trim().to_string()
    }
}

/// The dialog moving through one mail: what the answers did so far.
struct MailRun<'c, 'a> {
    ctx: &'c PlanContext<'a>,
    from: &'c Identity,
    cases: &'c [CaseSummary],
    conv: dialogs::Conversation,
    /// The guest record as the answers so far left it.
    guest: Option<Guest>,
    /// Everything the answers did but their replies.
    kept: Vec<Effect>,
    /// The replies to the last answer.
    last_replies: Vec<Effect>,
    /// Everything stored about the person, when the mail asks `datasaya`.
    records: Option<&'c dialogs::PersonRecords>,
}

impl MailRun<'_, '_> {
    /// One dialog step on `input`.
    fn step(&self, input: &Input) -> (dialogs::Conversation, Vec<Effect>) {
        let ctx = Ctx {
            now: self.ctx.now,
            identity: self.from,
            guest: self.guest.as_ref(),
            cases: self.cases,
            issued: self.ctx.issued,
            records: self.records,
        };
        dialogs::step(self.ctx.bot, &ctx, &self.conv, input)
    }

    /// Where the conversation stands: its dialog, step and sub-step.
    fn position(&self) -> Option<(String, String, String)> {
        self.conv
            .active
            .as_ref()
            .map(|a| (a.dialog.clone(), a.step.clone(), format!("{:?}", a.sub)))
    }

    /// The kind of the step the conversation waits on.
    fn current_kind(&self) -> Option<StepKind> {
        self.conv.active.as_ref().and_then(|a| {
            self.ctx
                .bot
                .dialogs
                .get(&a.dialog)
                .and_then(|d| d.step(&a.step))
                .map(|s| s.kind.clone())
        })
    }

    /// Keeps a step's effects (its replies as the last ones); a guest book saved is read by the
    /// next steps. Returns whether a case was filed.
    fn take(&mut self, effects: Vec<Effect>) -> bool {
        self.last_replies.clear();
        let mut filed = false;
        for e in effects {
            match e {
                Effect::Reply(_) => self.last_replies.push(e),
                Effect::SaveGuest {
                    ref profile,
                    ref consent_version,
                    ref consent_text,
                    ..
                } => {
                    let update = GuestUpdate {
                        profile: profile.clone(),
                        consent_version: consent_version.clone(),
                        consent_text: consent_text.clone(),
                        lang: self.conv.lang.clone(),
                    };
                    let mut c = Commit::new(
                        DedupeKey(String::new()),
                        self.ctx.now,
                        self.from.clone(),
                        self.conv.clone(),
                    );
                    c.guest = Some(update.clone());
                    self.guest = Some(crate::store::merged_guest(self.guest.take(), &c, &update));
                    self.kept.push(e);
                }
                Effect::CreateCase { .. } => {
                    filed = true;
                    self.kept.push(e);
                }
                other => self.kept.push(other),
            }
        }
        filed
    }

    /// Answers with the mail's lines until one is not taken, a dialog ends (a case is filed),
    /// or the mail is used up. Returns whether any step ran.
    fn read(&mut self, mail: &mut MailLines) -> bool {
        let mut stepped = false;
        for _ in 0..200 {
            let greeting = mail.first_pending();
            let Some((start, input)) = mail.next(self.current_kind()) else {
                break;
            };
            let before = self.position();
            let (mut next, mut effects) = self.step(&input);
            if greeting && next.active.as_ref().is_some_and(|a| a.dialog != "menu") {
                // The first line named a service and started it ("Pengaduan"): it is not read
                // again as the answer to a menu that was never shown.
                mail.consume_first();
            }
            let mut rest_taken = false;
            if before.is_none() && next.active.is_none() && self.conv.last_seen.is_some() {
                // Outside a dialog a line that starts none (a message for an open case's
                // officers, a question for the FAQ) stands for the whole rest of the mail.
                let rest = mail.rest(start);
                if !rest.is_empty() {
                    (next, effects) = self.step(&Input::Text(rest));
                }
                rest_taken = true;
            }
            stepped = true;
            self.conv = next;
            let filed = self.take(effects);
            let after = self.position();
            let stuck = before.is_some() && before == after;
            let ended = before.is_some() && after.is_none();
            if filed || stuck || ended || rest_taken {
                break;
            }
        }
        stepped
    }

    /// A mail outside any form whose prose names a service ("Selamat siang, saya ingin
    /// menyampaikan pengaduan …") starts that service at once; its files wait for the first
    /// question that asks for a file (the complaint's evidence). Its lines are not read as
    /// answers: prose is not a form. A mail whose first line picks a menu option ("Pengaduan",
    /// "3") is a form, one answer per line, and is read as such. Returns whether it started.
    fn start_from_prose(&mut self, mail: &mut MailLines, text: &str) -> bool {
        let whole = text.trim();
        if self.conv.active.is_some() || whole.is_empty() {
            return false;
        }
        let bot = self.ctx.bot;
        let lex = &bot.understanding.lexicon;
        let first_line = mail.lines.iter().find(|l| !l.is_empty()).copied();
        let picks_an_option = first_line.is_some_and(|l| {
            bot.understanding
                .choices("menu", "main")
                .is_some_and(|menu| {
                    understand::choose(lex, menu, l, understand::ChoiceMode::Exact)
                        != understand::ChoiceReading::None
                })
        });
        if picks_an_option {
            return false;
        }
        let named = understand::intent(
            &bot.understanding.lexicon,
            &bot.understanding.intents,
            whole,
        );
        if !matches!(named, IntentReading::Dialog(_)) {
            return false;
        }
        for f in mail.files.drain(..) {
            self.kept.push(Effect::KeepFile(f.blob.clone()));
            self.conv.early_files.push(f);
        }
        mail.at = mail.lines.len();
        let (next, effects) = self.step(&Input::Text(whole.to_string()));
        self.conv = next;
        self.take(effects);
        true
    }

    /// A mail with nothing to read: its file (for an open case), or the menu.
    fn read_empty(&mut self, mail: &mut MailLines) {
        let input = match mail.files.pop_front() {
            Some(f) => Input::File(f),
            None => Input::Text("menu".into()),
        };
        let (next, effects) = self.step(&input);
        self.conv = next;
        self.last_replies.clear();
        for e in effects {
            match e {
                Effect::Reply(_) => self.last_replies.push(e),
                other => self.kept.push(other),
            }
        }
    }
}

/// Runs the dialog over one e-mail: each non-empty line answers the question asked (a
/// long free-text question takes the lines up to the next empty line), and an attachment
/// answers a question that asks for a file. It stops at the first answer the dialog does
/// not take, when a dialog ends (a case is filed), or when the mail is used up. Everything
/// the answers did is kept; only the replies to the last answer are sent (what is still
/// missing, the problem with the answer, or the receipt), so one mail gets one reply.
#[allow(clippy::too_many_arguments)] // the mail's parts and what the runtime loaded for it
pub(super) fn mail_steps(
    ctx: &PlanContext,
    from: &Identity,
    guest: Option<&Guest>,
    cases: &[CaseSummary],
    conv: dialogs::Conversation,
    text: &str,
    files: Vec<AttachmentRef>,
    records: Option<&dialogs::PersonRecords>,
) -> (dialogs::Conversation, Vec<Effect>) {
    let mut mail = MailLines {
        lines: text.lines().map(str::trim).collect(),
        at: 0,
        files: VecDeque::from(files),
        first: conv.last_seen.is_none(),
    };
    let mut run = MailRun {
        ctx,
        from,
        cases,
        conv,
        guest: guest.cloned(),
        kept: Vec::new(),
        last_replies: Vec::new(),
        records,
    };
    if !run.start_from_prose(&mut mail, text) && !run.read(&mut mail) {
        run.read_empty(&mut mail);
    }
    let mut kept = run.kept;
    kept.extend(merged_reply(run.last_replies).map(Effect::Reply));
    (run.conv, kept)
}

/// One mail in, one mail out: the replies of the last answer together.
fn merged_reply(replies: Vec<Effect>) -> Option<dialogs::Reply> {
    let mut merged: Option<dialogs::Reply> = None;
    for e in replies {
        if let Effect::Reply(r) = e {
            merged = Some(match merged {
                None => r,
                Some(mut m) => {
                    m.text.push_str("\n\n");
                    m.text.push_str(&r.text);
                    m.choices = r.choices;
                    m.ask_contact |= r.ask_contact;
                    m
                }
            });
        }
    }
    merged
}
