//! A timer that fires goes through the runtime like an inbound message: one commit holds its
//! dedupe mark (`timer:ID`), its removal from the due index, the case history entry and the
//! reminder messages in the outbox. So it fires exactly once, even across a crash.

use crate::cases::{Actor, CaseEvent};
use crate::config::{OfficerConfig, Role};
use crate::message::{ChannelKind, Identity, OutboundMessage, Topic};
use crate::plan::{CaseEdits, Plan};
use crate::runtime::{Runtime, RuntimeError};
use crate::store::{Applied, Committed};
use crate::store::{Commit, DedupeKey, Reminder, StoreError, Timer, records::case_owner};
use crate::text::fill;
use chrono::{DateTime, Utc};

/// The identity an officer is reached at directly: Telegram, then WhatsApp, then e-mail, then
/// the terminal.
pub fn officer_identity(o: &OfficerConfig) -> Option<Identity> {
    if let Some(id) = o.telegram_user_id {
        return Some(Identity::new(ChannelKind::Telegram, id.to_string()));
    }
    if let Some(w) = &o.whatsapp {
        return Some(Identity::new(ChannelKind::Whatsapp, w.clone()));
    }
    if let Some(e) = &o.email {
        return Some(Identity::new(ChannelKind::Email, e.clone()));
    }
    o.terminal
        .as_ref()
        .map(|t| Identity::new(ChannelKind::Terminal, t.clone()))
}

/// The person whose conversation a timer reads or changes.
fn person_of(what: &Reminder) -> Option<&Identity> {
    match what {
        Reminder::IdleClose { who, .. } | Reminder::Appointment { who, .. } => Some(who),
        _ => None,
    }
}

impl Runtime {
    /// Fires one due timer. A timer fired before is only removed. Returns the messages it
    /// queued.
    pub async fn fire(&self, timer: Timer) -> Result<Vec<OutboundMessage>, RuntimeError> {
        let key = DedupeKey(timer.dedupe_id());
        // A timer that changes a conversation waits for that person's turn.
        let _turn = match person_of(&timer.what) {
            Some(who) => Some(self.shard(who).lock().await),
            None => None,
        };
        if self.store.is_handled(&key)? {
            self.store.drop_timer(&timer)?;
            return Ok(Vec::new());
        }
        let done = self
            .commit_planned(|now| self.timer_plan(&timer, now))
            .await?;
        if let Some((_, msgs)) = &done {
            tracing::info!(timer = %timer.id.split('/').next().unwrap_or(""), kind = kind_name(&timer.what), messages = msgs.len(), "timer fired");
        }
        match done {
            Some((_, msgs)) => Ok(msgs),
            None => {
                self.store.drop_timer(&timer)?;
                Ok(Vec::new())
            }
        }
    }

    /// Fires timers of different owners together: their commits go to the store in one call
    /// ([`crate::store::Store::commit_many`]: one transaction in sled) and share one flush.
    /// Each fires exactly as [`Runtime::fire`] would; returns how many were handled.
    pub async fn fire_many(&self, timers: Vec<Timer>) -> Result<usize, RuntimeError> {
        if timers.len() < 2 {
            for t in &timers {
                self.fire(t.clone()).await?;
            }
            return Ok(timers.len());
        }
        if let Some(trouble) = self.store.trouble() {
            return Err(StoreError::Engine(trouble).into());
        }
        // The turns of the people whose conversations these timers change, taken in shard
        // order (every other path holds one turn at a time, so this cannot deadlock).
        let mut shards: Vec<usize> = timers
            .iter()
            .filter_map(|t| person_of(&t.what))
            .map(|who| self.shard_index(who))
            .collect();
        shards.sort_unstable();
        shards.dedup();
        let mut turns = Vec::with_capacity(shards.len());
        for i in shards {
            turns.push(self.shard_at(i).lock().await);
        }
        let n = timers.len();
        let (mut fired, failed) = crate::runtime::off_worker(|| self.commit_timers(timers));
        // Whatever applied is flushed before anyone is told (a failure of one timer does
        // not hold back the others).
        let flushed = self.store.flushed().await;
        drop(turns);
        flushed?;
        let mut rows = Vec::new();
        let mut timers_changed = false;
        for (timer, msgs, applied) in &mut fired {
            rows.append(&mut applied.rows);
            timers_changed |= applied.timers_changed;
            tracing::info!(timer = %timer.id.split('/').next().unwrap_or(""), kind = kind_name(&timer.what), messages = msgs.len(), "timer fired");
        }
        self.flushed_commits(rows, timers_changed, true);
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(n)
    }

    /// Plans and applies timers (no flush): those fired before are only removed; the rest go
    /// to the store together, and one whose case changed meanwhile is planned again on its
    /// own. Returns the fired timers with their messages and what their commits did, and the
    /// first error.
    #[allow(clippy::type_complexity)]
    fn commit_timers(
        &self,
        timers: Vec<Timer>,
    ) -> (
        Vec<(Timer, Vec<OutboundMessage>, Applied)>,
        Option<RuntimeError>,
    ) {
        let mut fired = Vec::new();
        let mut failed: Option<RuntimeError> = None;
        let fail = |e: RuntimeError, failed: &mut Option<RuntimeError>| {
            tracing::error!(error = %e, "a due timer could not fire");
            failed.get_or_insert(e);
        };
        let now = self.clock.now();
        // Planned: the timer, its commit (moved to the store below) and how to word it.
        let mut todo: Vec<(Timer, Option<crate::store::Commit>, crate::plan::Render)> =
            Vec::with_capacity(timers.len());
        for t in timers {
            let planned = (|| {
                if self.store.is_handled(&DedupeKey(t.dedupe_id()))? {
                    self.store.drop_timer(&t)?;
                    return Ok(None);
                }
                self.timer_plan(&t, now).map(Some)
            })();
            match planned {
                Ok(Some(Plan { commit, render })) => todo.push((t, Some(commit), render)),
                Ok(None) => {}
                Err(e) => fail(RuntimeError::Store(e), &mut failed),
            }
        }
        let mut follow = Vec::with_capacity(todo.len());
        let mut items = Vec::with_capacity(todo.len());
        for (t, commit, render) in &mut todo {
            let Some(commit) = commit.take() else {
                continue;
            };
            match self.followups(&commit, render, now) {
                Ok(f) => {
                    follow.push((&*t, f));
                    items.push(commit);
                }
                Err(e) => fail(RuntimeError::Store(e), &mut failed),
            }
        }
        let items = items
            .into_iter()
            .zip(&follow)
            .map(|(c, (_, f))| (c, f as &dyn crate::store::Followups))
            .collect();
        let results = self.store.commit_many(items);
        for ((t, f), result) in follow.into_iter().zip(results) {
            let t = t.clone();
            let done = match result {
                Ok(Committed::Applied(applied)) => Ok(Some((applied, f.take()))),
                Ok(Committed::Duplicate) => Ok(None),
                Err(StoreError::Conflict(_)) => {
                    self.commit_now(&mut |now| self.timer_plan(&t, now))
                }
                Err(e) => Err(e.into()),
            };
            match done {
                Ok(Some((applied, msgs))) => fired.push((t, msgs, applied)),
                Ok(None) => {
                    if let Err(e) = self.store.drop_timer(&t) {
                        fail(e.into(), &mut failed);
                    }
                }
                Err(e) => fail(e, &mut failed),
            }
        }
        (fired, failed)
    }

    fn timer_plan(&self, timer: &Timer, now: DateTime<Utc>) -> Result<Plan, StoreError> {
        let bot = &self.bot;
        let mut commit = Commit::for_timer(timer, now);
        let mut out: Vec<OutboundMessage> = Vec::new();
        match &timer.what {
            Reminder::IdleClose { who, last_seen } => {
                if let Some(mut conv) = self.store.session(who)?
                    && conv.active.is_some()
                    && conv.last_seen == Some(*last_seen)
                {
                    conv.active = None;
                    out.push(OutboundMessage::text(
                        who.clone(),
                        bot.sys("idle_closed_later", &conv.lang),
                    ));
                    commit.who = who.clone();
                    commit.session = Some(conv);
                }
            }
            Reminder::Appointment { who, at, topic, .. } => {
                let lang = self.lang_of(who)?;
                let when = bot.calendar.format_local(*at, &lang);
                out.push(
                    OutboundMessage::text(
                        who.clone(),
                        fill(
                            &bot.sys("reminder_appointment", &lang),
                            &[
                                ("office", bot.office_name.clone()),
                                ("when", when.clone()),
                                ("topic", topic.clone()),
                            ],
                        ),
                    )
                    .about(Topic::plain(
                        "reminder_appointment",
                        vec![bot.office_name.clone(), when, topic.clone()],
                    )),
                );
            }
            what => {
                let mut edits = CaseEdits::new();
                if let Some((n, _)) = crate::reminders::case_of(what)
                    && let Some(case) = edits.get(self.store.as_ref(), n)?
                {
                    let entry = format!(
                        "{}/{}@{}/",
                        case_owner(n),
                        case.stage,
                        case.stage_since.timestamp_millis()
                    );
                    // A reminder of a stage the case has left (or a closed case) says nothing.
                    if case.open && timer.id.starts_with(&entry) {
                        let msgs = self.case_reminder(case, what, now);
                        if !msgs.is_empty() {
                            case.history.push(CaseEvent {
                                at: now,
                                actor: Actor::System,
                                kind: "reminder".into(),
                                note: Some(kind_name(what).to_string()),
                            });
                        }
                        out.extend(msgs);
                    }
                }
                // Only a reminder that said something is recorded on the case (and so
                // reschedules its timers); a silent one leaves the case and its other
                // timers as they are.
                if !out.is_empty() {
                    edits.into_commit(&mut commit);
                }
            }
        }
        Ok(Plan {
            commit,
            render: Box::new(move |_| out.clone()),
        })
    }

    /// The language a person reads: their conversation's, else the office default.
    fn lang_of(&self, who: &Identity) -> Result<String, StoreError> {
        Ok(self
            .store
            .session(who)?
            .map(|c| c.lang)
            .filter(|l| self.bot.languages.contains(l))
            .unwrap_or_else(|| self.bot.default_lang().to_string()))
    }

    /// The messages of a case reminder (none when it no longer applies).
    fn case_reminder(
        &self,
        case: &crate::cases::Case,
        what: &Reminder,
        now: DateTime<Utc>,
    ) -> Vec<OutboundMessage> {
        let bot = &self.bot;
        let n = &case.number;
        let id_label = bot.stage_label(n.service, &case.stage, "id");
        let en_label = bot.stage_label(n.service, &case.stage, "en");
        let due = case
            .stage_due
            .map(|d| bot.calendar.format_local(d, "id"))
            .unwrap_or_else(|| "-".into());
        let who_has_it = case
            .assignee
            .as_deref()
            .and_then(|a| self.officers.iter().find(|o| o.id == a))
            .map(|o| format!(" — {}", o.name))
            .unwrap_or_default();
        let officers = |text: String| vec![OutboundMessage::text(Identity::officers(), text)];
        match what {
            Reminder::Unacknowledged { .. } => {
                if case.assignee.is_some() {
                    return Vec::new();
                }
                officers(format!(
                    "⏰ [{n}] Kasus baru belum diambil petugas: {title}\nNew case not taken yet. Ketik / type: ambil {n}",
                    title = case.title
                ))
            }
            Reminder::StageProgress { percent, .. } => {
                if crate::reminders::superseded(bot, case, *percent, now) {
                    return Vec::new();
                }
                if *percent >= 100 {
                    officers(format!(
                        "⏰ [{n}] Batas waktu tahap «{id_label}» adalah sekarang ({due}){who_has_it}.\nStage «{en_label}» is due now."
                    ))
                } else {
                    officers(format!(
                        "⏰ [{n}] Tahap «{id_label}» sudah memakai {percent}% waktu SOP; batas {due}{who_has_it}.\nStage «{en_label}» has used {percent}% of its SOP time."
                    ))
                }
            }
            Reminder::Overdue { .. } => {
                // Counted from the due time, so a reminder sent late (after an outage or a
                // clock jump) still tells how late the stage is.
                let every = i64::from(bot.reminders.overdue_every_hours.max(1));
                let day = case
                    .stage_due
                    .map(|d| ((now - d).num_hours() / every).max(1))
                    .unwrap_or(1);
                let chiefs: Vec<&OfficerConfig> = self
                    .officers
                    .iter()
                    .filter(|o| o.roles.contains(&Role::Pimpinan))
                    .collect();
                let names: Vec<&str> = chiefs.iter().map(|o| o.name.as_str()).collect();
                let text = format!(
                    "⚠️ [{n}] Tahap «{id_label}» melewati batas waktu ({due}), pengingat ke-{day}{who_has_it}. Diteruskan ke pimpinan: {chiefs}.\nStage «{en_label}» is overdue (reminder {day}); escalated to the head of office.",
                    chiefs = if names.is_empty() {
                        "-".to_string()
                    } else {
                        names.join(", ")
                    }
                );
                let mut msgs = officers(text.clone());
                for chief in chiefs {
                    if let Some(to) = officer_identity(chief) {
                        msgs.push(OutboundMessage::text(to, text.clone()).about(Topic::case(
                            "officer_reminder",
                            n,
                            &[day.to_string()],
                        )));
                    }
                }
                msgs
            }
            Reminder::ApplicantPending { .. } => {
                let lang = case.lang.as_str();
                let stage = bot.stage_label(n.service, &case.stage, lang);
                vec![
                    OutboundMessage::text(
                        case.origin.clone(),
                        fill(
                            &bot.sys("reminder_pending", lang),
                            &[("case", n.to_string()), ("stage", stage.clone())],
                        ),
                    )
                    .about(Topic::case("reminder_pending", n, &[stage])),
                ]
            }
            Reminder::RatingAgain { .. } => vec![
                OutboundMessage::text(
                    case.origin.clone(),
                    fill(
                        &bot.sys("reminder_rating", &case.lang),
                        &[("case", n.to_string())],
                    ),
                )
                .about(Topic::case("reminder_rating", n, &[])),
            ],
            Reminder::Appointment { .. } | Reminder::IdleClose { .. } => Vec::new(),
        }
    }
}

/// A short name of a reminder for logs and case history.
pub fn kind_name(r: &Reminder) -> &'static str {
    match r {
        Reminder::Unacknowledged { .. } => "unacknowledged",
        Reminder::StageProgress { percent, .. } if *percent >= 100 => "stage_due",
        Reminder::StageProgress { .. } => "stage_progress",
        Reminder::Overdue { .. } => "overdue",
        Reminder::ApplicantPending { .. } => "applicant_pending",
        Reminder::RatingAgain { .. } => "rating_again",
        Reminder::Appointment { .. } => "appointment",
        Reminder::IdleClose { .. } => "idle_close",
    }
}
