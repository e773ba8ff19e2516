//! Turning a dialog step's effects into a plan: the commit (conversation, guest book, new case,
//! case edits, rating, erasure, appointment, files, timers) and the messages to word once the
//! commit has assigned numbers. Each kind of effect is one step of [`EffectsDraft`].

use crate::cases::workflow::TransitionKind;
use crate::cases::{Actor as HistoryActor, CaseEvent, CaseNumber, Service, flow};
use crate::dialogs::{self, Bot, CASE_MARKER, Effect};
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::{AttachmentRef, ChannelKind, Identity, OutboundMessage, Topic};
use crate::plan::{CaseEdits, Plan, PlanContext, notify};
use crate::store::{Applied, Commit, DedupeKey, GuestUpdate, NewCase, StoreError};
use chrono::Datelike;
use std::collections::BTreeMap;

/// A new case's officers' post, worded once the commit has numbered the case: its service,
/// title and start stage; and the due dates its receipt tells the applicant (the stage's and
/// the SOP's, with the case marker for its number; empty when it has none).
type NewCasePost = (Service, String, String, String);

/// The plan taking shape while a step's effects are read, one effect at a time.
struct EffectsDraft<'c, 'a> {
    ctx: &'c PlanContext<'a>,
    from: &'c Identity,
    lang: String,
    guest: Option<Guest>,
    guest_id: String,
    commit: Commit,
    edits: CaseEdits,
    /// Messages in order.
    out: Vec<OutboundMessage>,
    new_case_post: Option<NewCasePost>,
    /// The bytes of the files this message brought, by content hash.
    file_bytes: Vec<(String, Vec<u8>)>,
}

/// Turns a dialog step's effects into a plan: the commit, and the messages to word once the
/// commit has assigned numbers.
pub(super) fn effects_plan(
    ctx: &PlanContext,
    key: DedupeKey,
    from: &Identity,
    guest: Option<Guest>,
    new_conv: dialogs::Conversation,
    effects: Vec<Effect>,
    file_bytes: Vec<(String, Vec<u8>)>,
) -> Result<Plan, StoreError> {
    let lang = new_conv.lang.clone();
    let guest_id = guest
        .as_ref()
        .map(|g| g.id.clone())
        .unwrap_or_else(|| Guest::id_for(from));
    let mut commit = Commit::new(key, ctx.now, from.clone(), new_conv);
    // Mail from an address that bounced before: it works again.
    if from.channel == ChannelKind::Email && ctx.store.address_failing(from)? {
        commit.address_failing = Some((from.clone(), false));
    }
    let mut d = EffectsDraft {
        ctx,
        from,
        lang,
        guest,
        guest_id,
        commit,
        edits: CaseEdits::new(),
        out: Vec::new(),
        new_case_post: None,
        file_bytes,
    };
    for e in effects {
        d.apply(e)?;
    }
    Ok(d.finish())
}

impl EffectsDraft<'_, '_> {
    /// Takes one effect into the plan.
    fn apply(&mut self, e: Effect) -> Result<(), StoreError> {
        match e {
            Effect::Reply(r) => self.out.push(OutboundMessage {
                to: self.from.clone(),
                text: r.text,
                choices: r.choices,
                files: Vec::new(),
                ask_contact: r.ask_contact,
                topic: None,
                answers: None,
            }),
            Effect::SaveGuest {
                profile,
                consent_version,
                consent_text,
                visit_for,
            } => self.save_guest(profile, consent_version, consent_text, visit_for),
            Effect::CreateCase {
                service,
                title,
                form,
                attachments,
                confidential,
            } => self.create_case(service, title, form, attachments, confidential),
            Effect::KeepFile(hash) => self.keep_file(&hash),
            Effect::Forward { case, text } => self.forward(&case, text)?,
            Effect::AttachToCase { case, file } => self.attach_to_case(&case, file)?,
            Effect::ApplicantDone { case } => {
                let msgs = self.applicant_transition(&case, TransitionKind::Move)?;
                self.out.extend(msgs);
            }
            Effect::SaveRating {
                case,
                score,
                comment,
                skm,
            } => self.save_rating(case, score, comment, skm)?,
            Effect::ErasePersonalData => self.erase()?,
            Effect::BookAppointment { at, topic } => self.book_appointment(at, topic),
        }
        Ok(())
    }

    /// The guest book filled in: saved with the commit, with a visit.
    fn save_guest(
        &mut self,
        profile: BTreeMap<String, crate::cases::Answer>,
        consent_version: String,
        consent_text: String,
        visit_for: Option<String>,
    ) {
        let purpose = profile
            .get("purpose")
            .and_then(|a| a.as_text())
            .map(str::to_string);
        self.commit.guest = Some(GuestUpdate {
            profile,
            consent_version,
            consent_text,
            lang: self.lang.clone(),
        });
        self.commit.visit = Some(Visit {
            guest_id: self.guest_id.clone(),
            at: self.ctx.now,
            channel: self.from.channel,
            service: visit_for,
            purpose,
            name: None,
        });
    }

    /// A dialog filed a case: it starts in its workflow's start stage with that stage's due
    /// dates; the officers are told once it has a number.
    fn create_case(
        &mut self,
        service: Service,
        title: String,
        form: Vec<crate::cases::FormField>,
        attachments: Vec<AttachmentRef>,
        confidential: bool,
    ) {
        let bot = self.ctx.bot;
        let now = self.ctx.now;
        let Some(wf) = bot.workflows.get(&service) else {
            tracing::error!(
                service = service.prefix(),
                "no workflow for this service; case not created"
            );
            return;
        };
        let dues = flow::dues(wf, &bot.calendar, &wf.start, now, now, None, &[]);
        let mut receipt_due = Vec::new();
        if let Some(due) = dues.stage_due.or(dues.overall_due) {
            receipt_due.push(crate::text::fill(
                &bot.sys("due_line", &self.lang),
                &[("due", bot.calendar.format_local(due, &self.lang))],
            ));
        }
        if let Some(sop) = dues.overall_due.filter(|s| Some(*s) != dues.stage_due) {
            receipt_due.push(notify::sop_due_line(bot, CASE_MARKER, sop, &self.lang));
        }
        self.new_case_post = Some((
            service,
            title.clone(),
            wf.start.clone(),
            receipt_due.join("\n"),
        ));
        self.commit.new_case = Some(NewCase {
            service,
            workflow: wf.id.clone(),
            stage: wf.start.clone(),
            stage_due: dues.stage_due,
            overall_start: dues.overall_start,
            overall_due: dues.overall_due,
            year: bot.calendar.local(now).year(),
            title,
            lang: self.lang.clone(),
            form,
            attachments,
            confidential,
        });
    }

    /// Keeps the bytes of a file this message brought (once per file).
    fn keep_file(&mut self, hash: &str) {
        if let Some((h, bytes)) = self.file_bytes.iter().find(|(h, _)| *h == hash)
            && !self.commit.blobs.iter().any(|(b, _)| b == h)
        {
            self.commit.blobs.push((h.clone(), bytes.clone()));
        }
    }

    /// The applicant's text for the officers on their case.
    fn forward(&mut self, case: &CaseNumber, text: String) -> Result<(), StoreError> {
        let now = self.ctx.now;
        if let Some(c) = self.edits.get(self.ctx.store, case)? {
            c.history.push(CaseEvent {
                at: now,
                actor: HistoryActor::Applicant,
                kind: "applicant_message".into(),
                note: Some(text.clone()),
            });
            let post = self.ctx.officer_text(
                "officers_applicant_wrote",
                &[("case", case.to_string()), ("text", text)],
            );
            self.out
                .push(OutboundMessage::text(Identity::officers(), post));
        }
        Ok(())
    }

    /// The applicant's file, kept with their case and shown to the officers.
    fn attach_to_case(&mut self, case: &CaseNumber, file: AttachmentRef) -> Result<(), StoreError> {
        let now = self.ctx.now;
        if let Some(c) = self.edits.get(self.ctx.store, case)? {
            c.attachments.push(file.clone());
            c.history.push(CaseEvent {
                at: now,
                actor: HistoryActor::Applicant,
                kind: "applicant_file".into(),
                note: Some(file.filename.clone()),
            });
            let post = self.ctx.officer_text(
                "officers_applicant_file",
                &[("case", case.to_string()), ("file", file.filename.clone())],
            );
            let mut m = OutboundMessage::text(Identity::officers(), post);
            m.files.push(file);
            self.out.push(m);
        }
        Ok(())
    }

    /// A rating: saved; about a case, it also takes the case's rating step (or is noted on it).
    fn save_rating(
        &mut self,
        case: Option<CaseNumber>,
        score: u8,
        comment: Option<String>,
        skm: Option<[u8; 9]>,
    ) -> Result<(), StoreError> {
        let now = self.ctx.now;
        if let Some(n) = &case {
            let moved = self.applicant_transition(n, TransitionKind::Rate)?;
            if moved.is_empty()
                && let Some(c) = self.edits.get(self.ctx.store, n)?
            {
                c.history.push(CaseEvent {
                    at: now,
                    actor: HistoryActor::Applicant,
                    kind: "rated".into(),
                    note: Some(format!("{score}/5")),
                });
            }
            self.out.extend(moved);
        }
        self.commit.rating = Some(Rating {
            guest_id: self.guest.as_ref().map(|g| g.id.clone()),
            case,
            at: now,
            score,
            comment,
            skm,
        });
        Ok(())
    }

    /// The person asked to erase their data: the erasure, the officers told of every case it
    /// closed, and the confirmation.
    fn erase(&mut self) -> Result<(), StoreError> {
        let bot = self.ctx.bot;
        let (erasure, closed) = crate::privacy::plan_erasure(self.ctx, &mut self.edits, self.from)?;
        self.out.extend(
            closed
                .iter()
                .map(|n| crate::privacy::closed_notice(self.ctx, n)),
        );
        self.out.push(OutboundMessage::text(
            self.from.clone(),
            crate::text::fill(
                &bot.sys("erase_done", &self.lang),
                &[("office", bot.office_name.clone())],
            ),
        ));
        self.commit.erase = Some(erasure);
        Ok(())
    }

    /// An appointment: saved with its reminders, and the officers told.
    fn book_appointment(&mut self, at: chrono::DateTime<chrono::Utc>, topic: String) {
        let bot = self.ctx.bot;
        let now = self.ctx.now;
        let post = self.ctx.officer_text(
            "officers_appointment",
            &[
                ("when", bot.calendar.format_local(at, bot.default_lang())),
                ("topic", topic.clone()),
            ],
        );
        self.out
            .push(OutboundMessage::text(Identity::officers(), post));
        self.commit
            .timers
            .push(crate::reminders::appointment_timers(
                bot,
                self.from,
                &self.guest_id,
                now,
                at,
                &topic,
            ));
        self.commit.appointment = Some(Appointment {
            guest_id: self.guest_id.clone(),
            booked_at: now,
            at,
            topic,
        });
    }

    /// The applicant takes the transition of `kind` out of the case's current stage (their
    /// revision is done, they paid, they rated). Returns the notification and the officers'
    /// post, or a polite "nothing is waiting on you" when there is no such transition.
    fn applicant_transition(
        &mut self,
        n: &CaseNumber,
        kind: TransitionKind,
    ) -> Result<Vec<OutboundMessage>, StoreError> {
        let bot = self.ctx.bot;
        let now = self.ctx.now;
        let from = self.from;
        let Some(case) = self.edits.get(self.ctx.store, n)? else {
            return Ok(Vec::new());
        };
        let Some(wf) = bot.workflows.get(&n.service) else {
            return Ok(Vec::new());
        };
        let who = flow::Who::Applicant;
        let moved = flow::find(wf, case, flow::Find::Kind(kind, &who))
            .and_then(|t| flow::apply(wf, &bot.calendar, case, t, &who, None, now).map(|c| (t, c)));
        match moved {
            Ok((t, next)) => {
                *case = next;
                let mut out = Vec::new();
                if let Some(text) = notify::transition_text(bot, wf, case, t, None) {
                    out.push(
                        OutboundMessage::text(from.clone(), text)
                            .about(notify::update_topic(bot, case)),
                    );
                }
                let by = bot.texts.officer("officers_by_applicant", &[]);
                out.push(OutboundMessage::text(
                    Identity::officers(),
                    notify::officers_line(bot, case, t, &by, None),
                ));
                Ok(out)
            }
            Err(_) if kind == TransitionKind::Rate => Ok(Vec::new()),
            Err(_) => Ok(vec![OutboundMessage::text(
                from.clone(),
                crate::text::fill(
                    &bot.sys("not_waiting", &self.lang),
                    &[("case", n.to_string())],
                ),
            )]),
        }
    }

    /// The plan: the commit with the edited cases and the conversation's idle timer, and the
    /// messages worded once the commit has numbered a new case.
    fn finish(self) -> Plan {
        let EffectsDraft {
            ctx,
            from,
            mut commit,
            edits,
            out,
            new_case_post,
            ..
        } = self;
        edits.into_commit(&mut commit);
        let in_dialog = commit.session.as_ref().is_some_and(|c| c.active.is_some());
        commit.timers.push(crate::reminders::idle_timer(
            ctx.bot, from, ctx.now, in_dialog,
        ));
        let bot = ctx.bot.clone();
        Plan {
            commit,
            render: Box::new(move |applied: &Applied| {
                render_effects(&bot, &out, new_case_post.as_ref(), applied)
            }),
        }
    }
}

/// The messages of a step's plan once its commit is applied: the new case's number filled in
/// (its receipt becomes a notification the applicant keeps), and the officers' new-case post.
fn render_effects(
    bot: &Bot,
    out: &[OutboundMessage],
    new_case_post: Option<&NewCasePost>,
    applied: &Applied,
) -> Vec<OutboundMessage> {
    let number = applied
        .case
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let mut msgs: Vec<OutboundMessage> = out
        .iter()
        .cloned()
        .map(|mut m| {
            if m.text.contains(CASE_MARKER) {
                // The receipt tells the due dates (issue 20, item 2).
                if let Some((.., due)) = new_case_post
                    && m.topic.is_none()
                    && !due.is_empty()
                    && !number.is_empty()
                {
                    m.text = format!("{}\n{due}", m.text.trim_end());
                }
                m.text = m.text.replace(CASE_MARKER, &number);
                // The receipt of a new case: a notification the applicant keeps.
                if m.topic.is_none() && !number.is_empty() {
                    m.topic = Some(Topic::case("case_received", &number, &[]));
                }
            }
            m
        })
        .collect();
    if let (Some(n), Some((service, title, start, _))) = (&applied.case, new_case_post) {
        let lang = bot.default_lang().to_string();
        let stage = bot.stage_label(*service, start, &lang);
        msgs.push(OutboundMessage::text(
            Identity::officers(),
            bot.texts.officer(
                "officers_new_case",
                &[
                    ("case", n.to_string()),
                    ("title", title.clone()),
                    ("stage", stage),
                ],
            ),
        ));
    }
    msgs
}

/// Erasing someone's data needs proof that it is them: for an unproven sender the erasure is
/// replaced by a word on how to prove it (answer one of our mails).
pub(super) fn refuse_erasure_unproven(bot: &Bot, lang: &str, effects: Vec<Effect>) -> Vec<Effect> {
    effects
        .into_iter()
        .map(|e| match e {
            Effect::ErasePersonalData => Effect::Reply(dialogs::Reply {
                text: bot.sys("erase_needs_proof", lang),
                choices: Vec::new(),
                ask_contact: false,
            }),
            other => other,
        })
        .collect()
}
