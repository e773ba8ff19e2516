//! The message path: dedupe, the person's turn, the flood limit, a plan (an officer's command
//! or the applicant's dialog step), one commit, the flush, and the replies.

use super::commit::Done;
use super::effects::{effects_plan, refuse_erasure_unproven};
use super::flood::Flood;
use super::mail::mail_steps;
use super::{Runtime, RuntimeError};
use crate::cases::CaseSummary;
use crate::dialogs::{self, Ctx, Input};
use crate::message::{Identity, InboundBody, InboundMessage, MailParent, OutboundMessage, Trust};
use crate::plan::{Plan, PlanContext, attachment_ref};
use crate::store::{Commit, DedupeKey, StoreError};

impl Runtime {
    /// Handles one inbound message and returns the messages it causes: replies to the sender,
    /// notifications to applicants, posts to the officers' chat — all queued in the outbox in
    /// the same transaction. A message handled before returns nothing and changes nothing.
    /// When this returns `Ok`, the effects and the queued messages are on disk.
    pub async fn handle(&self, msg: InboundMessage) -> Result<Vec<OutboundMessage>, RuntimeError> {
        Ok(self
            .handle_message(msg, true)
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect())
    }

    /// [`Runtime::handle`], with the outbox id of each queued message (for a channel that
    /// shows replies itself, like the terminal, and marks them delivered).
    ///
    /// The rows are not handed to the outbox worker: the caller delivers those for its own
    /// chat itself; the others are found by the worker's store scan (after a flush of its own).
    pub async fn handle_queued(
        &self,
        msg: InboundMessage,
    ) -> Result<Vec<(u64, OutboundMessage)>, RuntimeError> {
        self.handle_message(msg, false).await
    }

    /// Handles a message; `handoff`: whether its rows go straight to the outbox worker.
    async fn handle_message(
        &self,
        msg: InboundMessage,
        handoff: bool,
    ) -> Result<Vec<(u64, OutboundMessage)>, RuntimeError> {
        let key = DedupeKey::new(&msg.from, &msg.id);
        let _turn = self.turns.of(&msg.from).lock().await;
        let _shared = self.shared_turn(&msg.from)?;
        if self.store.is_handled(&key)? {
            tracing::debug!(from = %msg.from.masked(), "duplicate message ignored");
            return Ok(Vec::new());
        }
        let officer = self.officer_of(&msg);
        if officer.is_none() {
            match self.flood.check(&*self.store, &msg.from, self.clock.now()) {
                Flood::Allowed => {}
                Flood::Throttled { tell } => return self.throttled(key, &msg.from, tell).await,
            }
        }
        let done = self
            .commit_planned_with(handoff, |ctx| match officer {
                Some(officer) => crate::admin::plan(ctx, officer, &msg, key.clone()),
                None => applicant_plan(ctx, key.clone(), &msg),
            })
            .await?;
        if let Some((applied, _)) = &done
            && let Some(n) = &applied.case
        {
            tracing::info!(case = %n, channel = msg.from.channel.as_str(), "case created");
        }
        Ok(done
            .map(|(applied, msgs)| applied.queued.into_iter().zip(msgs).collect())
            .unwrap_or_default())
    }

    /// Records an event that needs no dialog step — a message answered by the channel itself
    /// (a location, a sticker, a file that cannot be fetched), or a provider's delivery report
    /// that causes messages — and queues `msgs` in the same transaction. `key` deduplicates it
    /// like any message: a repeat changes nothing and returns `false`. When this returns `Ok`,
    /// it is on disk.
    pub async fn record(
        &self,
        key: DedupeKey,
        who: &Identity,
        msgs: Vec<OutboundMessage>,
    ) -> Result<bool, RuntimeError> {
        let _turn = self.turns.of(who).lock().await;
        let _shared = self.shared_turn(who)?;
        if self.store.is_handled(&key)? {
            return Ok(false);
        }
        let done = self.commit_messages(&key, who, msgs).await?;
        Ok(done.is_some())
    }

    /// Commits `msgs` for `who` under `key` with no dialog step (the session is left as it is).
    pub(super) async fn commit_messages(
        &self,
        key: &DedupeKey,
        who: &Identity,
        msgs: Vec<OutboundMessage>,
    ) -> Result<Option<Done>, RuntimeError> {
        self.commit_planned(|ctx| {
            let mut commit = Commit::new(
                key.clone(),
                ctx.now,
                who.clone(),
                dialogs::Conversation::default(),
            );
            commit.session = None;
            let msgs = msgs.clone();
            Ok(Plan {
                commit,
                render: Box::new(move |_| msgs.clone()),
            })
        })
        .await
    }
}

/// Runs the dialog step for an applicant and turns its effects into a plan.
fn applicant_plan(
    ctx: &PlanContext,
    key: DedupeKey,
    msg: &InboundMessage,
) -> Result<Plan, StoreError> {
    let bot = ctx.bot;
    let from = &msg.from;
    let now = ctx.now;
    let conv = ctx.store.session(from)?.unwrap_or_default();
    let guest = ctx.store.guest_of(from)?;
    // A sender the channel could not prove (an e-mail's bare `From:`) sees and touches no
    // case: their text is not posted to a case's officers, `selesai` moves nothing.
    let full_cases = match &guest {
        _ if msg.trust == Trust::Claimed => Vec::new(),
        Some(g) => ctx.store.cases_of_guest(&g.id)?,
        None => Vec::new(),
    };
    let cases: Vec<CaseSummary> = full_cases.iter().map(|c| c.summary()).collect();
    let mut file_bytes: Vec<(String, Vec<u8>)> = Vec::new();
    let mut keep = |a: &crate::message::Attachment| {
        let (r, bytes) = attachment_ref(a);
        if r.size <= bot.max_attachment_bytes {
            file_bytes.push((r.blob.clone(), bytes));
        }
        r
    };
    let (new_conv, effects) = match &msg.body {
        InboundBody::Mail { text, files, .. } => {
            let files: Vec<_> = files.iter().map(&mut keep).collect();
            // A proven mail with `datasaya` on a line of its own reads the rest too.
            let asks_data = msg.trust != Trust::Claimed
                && text.lines().any(|l| {
                    crate::understand::command(&bot.understanding.lexicon, l)
                        == Some(crate::understand::GlobalCommand::MyData)
                });
            let records = match &guest {
                Some(g) if asks_data => Some(person_records(ctx, g, full_cases)?),
                _ => None,
            };
            mail_steps(
                ctx,
                from,
                guest.as_ref(),
                &cases,
                conv,
                text,
                files,
                records.as_ref(),
            )
        }
        body => {
            let input = match body {
                InboundBody::Text(t) => Input::Text(t.clone()),
                InboundBody::Choice(c) => Input::Choice(c.clone()),
                InboundBody::Contact { phone, own } => Input::Contact {
                    phone: phone.clone(),
                    own: *own,
                },
                InboundBody::Attachment(a) => Input::File(keep(a)),
                InboundBody::Mail { .. } => unreachable!("handled above"),
            };
            // Only `datasaya` reads the rest of what is stored about the person.
            let records = match (&input, &guest) {
                (Input::Text(t), Some(g))
                    if msg.trust != Trust::Claimed
                        && crate::understand::command(&bot.understanding.lexicon, t)
                            == Some(crate::understand::GlobalCommand::MyData) =>
                {
                    Some(person_records(ctx, g, full_cases)?)
                }
                _ => None,
            };
            let step_ctx = Ctx {
                now,
                identity: from,
                guest: guest.as_ref(),
                cases: &cases,
                issued: ctx.issued,
                records: records.as_ref(),
            };
            dialogs::step(bot, &step_ctx, &conv, &input)
        }
    };
    let effects = if msg.trust == Trust::Claimed {
        refuse_erasure_unproven(bot, &new_conv.lang, effects)
    } else {
        effects
    };
    let plan = effects_plan(ctx, key, from, guest, new_conv, effects, file_bytes)?;
    Ok(match &msg.body {
        InboundBody::Mail { thread, .. } => plan.answering(
            from,
            MailParent {
                id: msg.id.clone(),
                thread: thread.clone(),
            },
        ),
        _ => plan,
    })
}

/// Everything stored about `g` beyond the guest book (for `datasaya`), each kind newest first.
fn person_records(
    ctx: &PlanContext,
    g: &crate::guestbook::Guest,
    mut cases: Vec<crate::cases::Case>,
) -> Result<dialogs::PersonRecords, StoreError> {
    let mine = |id: &str| id == g.id;
    cases.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    let mut ratings: Vec<_> = (ctx.store.ratings()?.into_iter())
        .filter(|r| r.guest_id.as_deref().is_some_and(mine))
        .collect();
    ratings.sort_by_key(|r| std::cmp::Reverse(r.at));
    let mut visits: Vec<_> = (ctx.store.visits()?.into_iter())
        .filter(|v| mine(&v.guest_id))
        .collect();
    visits.sort_by_key(|v| std::cmp::Reverse(v.at));
    let mut appointments: Vec<_> = (ctx.store.appointments()?.into_iter())
        .filter(|a| mine(&a.guest_id))
        .collect();
    appointments.sort_by_key(|a| std::cmp::Reverse(a.at));
    let mut web_entries = 0;
    for who in &g.identities {
        if who.channel == crate::message::ChannelKind::Web {
            web_entries += ctx.store.web_log(&who.address, 0, usize::MAX)?.len();
        }
    }
    // The officers' looks at the guest book entry or at one of the person's cases.
    let subjects: Vec<String> = cases.iter().map(|c| c.number.to_string()).collect();
    let mut accesses: Vec<_> = (ctx.store.audit_log()?.into_iter())
        .filter(|a| a.subject == g.id || subjects.contains(&a.subject))
        .map(|a| dialogs::Access {
            at: a.at,
            officer: a.officer,
            action: a.action,
            subject: a.subject,
        })
        .collect();
    accesses.reverse();
    Ok(dialogs::PersonRecords {
        cases,
        ratings,
        visits,
        appointments,
        web_entries,
        accesses,
    })
}
