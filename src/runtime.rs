//! The runtime: the one path every inbound message takes.
//!
//! dedupe check → load conversation, guest and cases → pure dialog step (or officer command) →
//! one store commit with the dedupe mark → a flush shared with concurrent commits (group commit)
//! → replies. Messages of one person are handled one at a time (a lock per identity shard), so
//! two quick messages cannot race.

use crate::admin;
use crate::cases::workflow::TransitionKind;
use crate::cases::{
    Actor as HistoryActor, Case, CaseEvent, CaseNumber, CaseSummary, Service, flow,
};
use crate::config::OfficerConfig;
use crate::dialogs::data::Activity;
use crate::dialogs::{self, Bot, CASE_MARKER, Ctx, Effect, Input};
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::{
    ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage, Topic, Trust,
};
use crate::plan::{CaseEdits, Plan, Render, notify};
use crate::store::{
    Applied, Commit, Committed, DedupeKey, Followups, GuestUpdate, NewCase, Store, StoreError,
    Timer,
};
use chrono::{DateTime, Datelike, Utc};
use sha2::{Digest, Sha256};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// Where time comes from; injected so tests run on a fixed clock.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set and move by hand.
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        FixedClock(Mutex::new(at))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the flush task failed: {0}")]
    Join(String),
}

/// Per-person lock shards. A person's turn is held until their commit is flushed (a group
/// flush, ~1 fsync), so two people sharing a shard take turns at that pace: plenty of shards
/// keep unrelated people apart.
const LOCK_SHARDS: usize = 1024;

/// One sender's current flood window.
struct FloodWindow {
    start: DateTime<Utc>,
    count: u32,
    /// Whether the sender was already told about the limit in this window.
    told: bool,
}

enum Flood {
    Allowed,
    Throttled { tell: bool },
}

/// How often a message is re-planned when a case it changes was changed meanwhile.
const CONFLICT_RETRIES: usize = 5;

/// The follow-ups of one plan: its rendered messages, and the reminders of each case it writes.
pub(crate) struct PlanFollowups<'a> {
    bot: &'a Bot,
    render: &'a Render,
    now: DateTime<Utc>,
    /// The e-mail address of each recipient who gave one (and whose mail does not bounce):
    /// every notification to them also goes there.
    emails: BTreeMap<Identity, String>,
    /// What the last call of `messages` produced: returned to the caller after the commit.
    queued: Mutex<Vec<OutboundMessage>>,
}

impl PlanFollowups<'_> {
    /// The messages the applied commit queued.
    pub(crate) fn take(self) -> Vec<OutboundMessage> {
        self.queued.into_inner().expect("followups lock")
    }
}

impl Followups for PlanFollowups<'_> {
    fn messages(&self, applied: &Applied) -> Vec<OutboundMessage> {
        let msgs = with_email_copies((self.render)(applied), &self.emails);
        *self.queued.lock().expect("followups lock") = msgs.clone();
        msgs
    }

    fn case_timers(&self, case: &Case) -> Vec<Timer> {
        crate::reminders::case_timers(self.bot, case, self.now)
    }
}

/// Adds, after every notification (a message with a [`Topic`]) to an applicant on another
/// channel, the same notification by e-mail when that applicant gave an address: the SOP
/// notifies by e-mail too. Conversation replies (no topic) are not copied.
fn with_email_copies(
    msgs: Vec<OutboundMessage>,
    emails: &BTreeMap<Identity, String>,
) -> Vec<OutboundMessage> {
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        let copy = match (&m.topic, emails.get(&m.to)) {
            (Some(_), Some(addr))
                if !matches!(m.to.channel, ChannelKind::Email | ChannelKind::Officers) =>
            {
                let mut c = m.clone();
                c.to = Identity::new(ChannelKind::Email, addr.clone());
                c.choices.clear();
                c.ask_contact = false;
                Some(c)
            }
            _ => None,
        };
        out.push(m);
        out.extend(copy);
    }
    out
}

/// Runs blocking work (store reads and a commit) from async code. On a multi-threaded
/// runtime the worker hands its other tasks to another thread meanwhile
/// ([`tokio::task::block_in_place`]); elsewhere (a current-thread runtime in tests, no runtime)
/// it simply runs. Unlike `spawn_blocking`, `f` may borrow: the per-person lock held by the
/// caller and the plan's borrows stay as they are.
pub(crate) fn off_worker<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Handles inbound messages; shared by every channel.
pub struct Runtime {
    pub bot: Arc<Bot>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub officers: Vec<OfficerConfig>,
    /// Average desk minutes per walk-in visitor, for queue estimates.
    pub minutes_per_visitor: u32,
    /// Personal data of persons inactive this long is erased (`privacy.retention`).
    pub retention: std::time::Duration,
    /// How long housekeeping keeps dedupe marks and sent texts (`[store]`).
    pub kept: crate::housekeeping::Kept,
    issued: Vec<Activity>,
    /// Flood limit: messages one sender may send per minute (`conversation.messages_per_minute`);
    /// `0` (the default of a bare runtime, as in tests) is no limit. [`crate::app::build_on`]
    /// sets it from the config.
    pub messages_per_minute: u32,
    flood: Mutex<HashMap<Identity, FloodWindow>>,
    locks: Vec<tokio::sync::Mutex<()>>,
    /// Woken after a commit queued messages that were not handed off (the outbox worker then
    /// reads the store for them).
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Rows whose commit is flushed, handed straight to the running outbox worker.
    pub handoff: crate::outbox::Handoff,
    /// Woken after a commit changed timers (the scheduler waits on it).
    pub timers_wake: Arc<tokio::sync::Notify>,
}

impl Runtime {
    pub fn new(
        bot: Arc<Bot>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        officers: Vec<OfficerConfig>,
    ) -> Result<Runtime, StoreError> {
        // A recommendation counts as issued once its letter went out: states that ask for a
        // rating, and final ones.
        let issued_stages: Vec<&str> = bot
            .workflows
            .get(&Service::Rek)
            .map(|w| {
                w.states
                    .iter()
                    .filter(|s| s.ask_rating || s.is_final)
                    .map(|s| s.id.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let issued = store
            .recommended_cases(&issued_stages)?
            .into_iter()
            .map(|c| Activity {
                organiser: c
                    .form
                    .iter()
                    .find(|f| f.field == "organiser")
                    .and_then(|f| f.value.as_text().map(str::to_string))
                    .unwrap_or_default(),
                year: c.created_at.year(),
                letter: Some(c.number.to_string()),
                title: c.title,
            })
            .collect();
        Ok(Runtime {
            bot,
            store,
            clock,
            officers,
            minutes_per_visitor: 15,
            retention: crate::config::PrivacyConfig::default().retention,
            kept: crate::housekeeping::Kept::default(),
            issued,
            messages_per_minute: 0,
            flood: Mutex::new(HashMap::new()),
            locks: (0..LOCK_SHARDS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            handoff: crate::outbox::Handoff::default(),
            timers_wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// The officer this identity belongs to, if any. An e-mail address alone is no proof of
    /// who wrote (anyone can put it in `From:`): e-mail identities match only through
    /// [`Runtime::officer_of`], for mail the channel proved.
    pub fn officer(&self, who: &Identity) -> Option<&OfficerConfig> {
        self.officers.iter().find(|o| match who.channel {
            ChannelKind::Terminal => o.terminal.as_deref() == Some(who.address.as_str()),
            ChannelKind::Telegram => {
                o.telegram_user_id.map(|id| id.to_string()).as_deref() == who.telegram_user()
            }
            ChannelKind::Whatsapp => {
                let digits = crate::message::phone_digits;
                o.whatsapp.as_deref().and_then(digits).is_some()
                    && o.whatsapp.as_deref().and_then(digits) == digits(&who.address)
            }
            _ => false,
        })
    }

    /// The officer whose e-mail address this is (a claim to be proven by the channel).
    pub fn officer_by_email(&self, address: &str) -> Option<&OfficerConfig> {
        self.officers.iter().find(|o| {
            o.email
                .as_deref()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(address.trim()))
        })
    }

    /// The officer who sent `msg`: only when the channel vouches for the sender.
    pub fn officer_of(&self, msg: &InboundMessage) -> Option<&OfficerConfig> {
        match (msg.trust, msg.from.channel) {
            (Trust::Claimed, _) => None,
            (Trust::Proven, ChannelKind::Email) => self.officer_by_email(&msg.from.address),
            (Trust::Proven, _) => self.officer(&msg.from),
        }
    }

    pub(crate) fn shard(&self, who: &Identity) -> &tokio::sync::Mutex<()> {
        self.shard_at(self.shard_index(who))
    }

    /// Which lock shard holds a person's turn.
    pub(crate) fn shard_index(&self, who: &Identity) -> usize {
        let mut h = DefaultHasher::new();
        who.hash(&mut h);
        (h.finish() as usize) % LOCK_SHARDS
    }

    pub(crate) fn shard_at(&self, index: usize) -> &tokio::sync::Mutex<()> {
        &self.locks[index]
    }

    /// Handles one inbound message and returns the messages it causes: replies to the sender,
    /// notifications to applicants, posts to the officers' chat — all queued in the outbox in
    /// the same transaction. A message handled before returns nothing and changes nothing.
    /// When this returns `Ok`, the effects and the queued messages are on disk.
    /// Logs why a message was not handled (the caller answers "retry later"): an error, but
    /// only at debug level while the store is known to refuse writes — the store logged that
    /// once when it started, and a provider's retries must not flood the log.
    pub fn log_unhandled(&self, what: &str, from: &Identity, e: &dyn std::fmt::Display) {
        if self.store.trouble().is_some() {
            tracing::debug!(error = %e, from = %from.masked(), "{what}: refused while the store cannot write");
        } else {
            tracing::error!(error = %e, from = %from.masked(), "{what}: not handled; the sender should retry");
        }
    }

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
        let _turn = self.shard(&msg.from).lock().await;
        if self.store.is_handled(&key)? {
            tracing::debug!(from = %msg.from.masked(), "duplicate message ignored");
            return Ok(Vec::new());
        }
        let officer = self.officer_of(&msg);
        if officer.is_none() {
            match self.flood_check(&msg.from) {
                Flood::Allowed => {}
                Flood::Throttled { tell } => return self.throttled(key, &msg.from, tell).await,
            }
        }
        let done = self
            .commit_planned_with(handoff, |now| match officer {
                Some(officer) => admin::plan(self, officer, &msg, key.clone(), now),
                None => self.applicant_plan(key.clone(), now, &msg),
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

    /// Counts a message against its sender's flood limit (a fixed one-minute window on the
    /// runtime's clock, so tests on a fixed clock are exact).
    fn flood_check(&self, who: &Identity) -> Flood {
        // The terminal (`pstbot chat`) is local and used for scripting: never limited.
        if self.messages_per_minute == 0 || who.channel == ChannelKind::Terminal {
            return Flood::Allowed;
        }
        let now = self.clock.now();
        let window = chrono::Duration::minutes(1);
        let mut flood = self.flood.lock().expect("flood lock");
        // Bounded memory under many senders: forget finished windows now and then.
        if flood.len() > 10_000 {
            flood.retain(|_, w| now - w.start < window);
        }
        let w = flood.entry(who.clone()).or_insert(FloodWindow {
            start: now,
            count: 0,
            told: false,
        });
        if now - w.start >= window || now < w.start {
            *w = FloodWindow {
                start: now,
                count: 0,
                told: false,
            };
        }
        w.count += 1;
        if w.count <= self.messages_per_minute {
            Flood::Allowed
        } else {
            let tell = !w.told;
            w.told = true;
            Flood::Throttled { tell }
        }
    }

    /// A message over the flood limit: acknowledged and recorded as handled (a re-delivery stays
    /// a duplicate), not processed, and the sender told once per window. Nothing reaches the
    /// officers.
    async fn throttled(
        &self,
        key: DedupeKey,
        who: &Identity,
        tell: bool,
    ) -> Result<Vec<(u64, OutboundMessage)>, RuntimeError> {
        tracing::warn!(from = %who.masked(), channel = who.channel.as_str(), "flood limit: message recorded, not processed");
        let mut msgs = Vec::new();
        if tell {
            let lang = self
                .store
                .session(who)?
                .map(|c| c.lang)
                .filter(|l| self.bot.languages.contains(l))
                .unwrap_or_else(|| self.bot.default_lang().to_string());
            msgs.push(OutboundMessage::text(
                who.clone(),
                self.bot.sys("flood_notice", &lang),
            ));
        }
        let done = self.commit_messages(&key, who, msgs).await?;
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
        let _turn = self.shard(who).lock().await;
        if self.store.is_handled(&key)? {
            return Ok(false);
        }
        let done = self.commit_messages(&key, who, msgs).await?;
        Ok(done.is_some())
    }

    /// Commits `msgs` for `who` under `key` with no dialog step (the session is left as it is).
    async fn commit_messages(
        &self,
        key: &DedupeKey,
        who: &Identity,
        msgs: Vec<OutboundMessage>,
    ) -> Result<Option<(Applied, Vec<OutboundMessage>)>, RuntimeError> {
        self.commit_planned(|now| {
            let mut commit = Commit::new(
                key.clone(),
                now,
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

    /// Plans (again, when a case it changes was changed meanwhile), commits with the plan's
    /// follow-ups, flushes, hands the queued rows to the outbox worker and wakes the
    /// scheduler. `None`: a duplicate.
    pub(crate) async fn commit_planned(
        &self,
        plan: impl FnMut(DateTime<Utc>) -> Result<Plan, StoreError>,
    ) -> Result<Option<(Applied, Vec<OutboundMessage>)>, RuntimeError> {
        self.commit_planned_with(true, plan).await
    }

    /// [`Runtime::commit_planned`]; `handoff: false` leaves the rows for the worker's store
    /// scan (it is only woken).
    async fn commit_planned_with(
        &self,
        handoff: bool,
        mut plan: impl FnMut(DateTime<Utc>) -> Result<Plan, StoreError>,
    ) -> Result<Option<(Applied, Vec<OutboundMessage>)>, RuntimeError> {
        // While the disk refuses writes, new work is refused before anything is planned.
        if let Some(trouble) = self.store.trouble() {
            return Err(StoreError::Engine(trouble).into());
        }
        // Planning reads the store and the commit writes it: blocking work, kept off the
        // async workers so a slow commit does not hold up other people's requests.
        let done = off_worker(|| self.commit_now(&mut plan))?;
        let Some((mut applied, msgs)) = done else {
            return Ok(None);
        };
        // Group commit: wait (holding no thread) for a flush that started after this commit;
        // concurrent messages share it.
        self.store.flushed().await?;
        self.flushed_commits(
            std::mem::take(&mut applied.rows),
            applied.timers_changed,
            handoff,
        );
        Ok(Some((applied, msgs)))
    }

    /// Tells the workers about commits whose flush finished: the outbox rows they queued go
    /// to the delivery worker at once (`handoff`), with no store read and no flush of its own
    /// — without a worker to take them, it is woken and finds them by its scan — and the
    /// scheduler looks again when timers changed.
    pub(crate) fn flushed_commits(
        &self,
        rows: Vec<crate::store::OutboxRow>,
        timers_changed: bool,
        handoff: bool,
    ) {
        let handed = rows.is_empty() || (handoff && self.handoff.give(rows));
        if !handed {
            self.outbox_wake.notify_one();
        }
        if timers_changed {
            self.timers_wake.notify_one();
        }
    }

    /// Plans and applies a commit on this thread (no flush), planning again when a case it
    /// changes was changed meanwhile. `None`: a duplicate. Returns the messages it queued.
    pub(crate) fn commit_now(
        &self,
        plan: &mut dyn FnMut(DateTime<Utc>) -> Result<Plan, StoreError>,
    ) -> Result<Option<(Applied, Vec<OutboundMessage>)>, RuntimeError> {
        let mut attempt = 0;
        loop {
            let now = self.clock.now();
            let Plan { commit, render } = plan(now)?;
            let f = self.followups(&commit, &render, now)?;
            match self.store.commit_with(commit, &f) {
                Ok(Committed::Duplicate) => return Ok(None),
                Ok(Committed::Applied(applied)) => return Ok(Some((applied, f.take()))),
                Err(StoreError::Conflict(case)) if attempt + 1 < CONFLICT_RETRIES => {
                    tracing::debug!(%case, "case changed meanwhile; planning again");
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The follow-ups of a plan made at `now`: its messages (with e-mail copies) and the
    /// reminders of the cases it writes.
    pub(crate) fn followups<'a>(
        &'a self,
        commit: &Commit,
        render: &'a Render,
        now: DateTime<Utc>,
    ) -> Result<PlanFollowups<'a>, StoreError> {
        Ok(PlanFollowups {
            bot: &self.bot,
            render,
            now,
            emails: self.recipient_emails(commit, render)?,
            queued: Mutex::new(Vec::new()),
        })
    }

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
        files: &[crate::message::Attachment],
    ) -> Result<bool, RuntimeError> {
        let key = DedupeKey::new(from, id);
        let _turn = self.shard(from).lock().await;
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
        self.commit_planned(|now| {
            let conv = self.store.session(from)?.unwrap_or_default();
            let lang = if conv.lang.is_empty() {
                c.lang.clone()
            } else {
                conv.lang.clone()
            };
            let mut effects = Vec::new();
            let mut file_bytes = Vec::new();
            if !text.trim().is_empty() {
                effects.push(Effect::Forward {
                    case: case.clone(),
                    text: text.trim().to_string(),
                });
            }
            let mut names = Vec::new();
            for f in files {
                let (r, bytes) = attachment_ref(f);
                if r.size > self.bot.max_attachment_bytes {
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
                    &self.bot.sys("email_case_added", &lang),
                    &[("case", case.to_string()), ("files", files_line)],
                ),
                choices: Vec::new(),
                ask_contact: false,
            }));
            let guest = self.store.guest_of(from)?;
            let mut conv = conv;
            conv.lang = lang;
            self.effects_plan(key.clone(), now, from, guest, conv, effects, file_bytes)
        })
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
            // The diagnostic often repeats the address: officers see it masked.
            let masked = crate::message::mask(&a.address);
            if let Ok(re) = regex::Regex::new(&format!("(?i){}", regex::escape(&a.address))) {
                reason = re.replace_all(&reason, masked.as_str()).into_owned();
            }
        }
        self.commit_planned(|now| {
            let mut commit = Commit::new(key.clone(), now, from.clone(), Default::default());
            commit.session = None;
            let mut out = Vec::new();
            if let Some(addr) = &failed {
                commit.address_failing = Some((addr.clone(), true));
                out.push(OutboundMessage::text(
                    Identity::officers(),
                    format!(
                        "E-mail ke / to {} gagal terkirim / bounced: {reason}\nE-mail berikutnya ke alamat ini tidak dikirim sampai pemohon menulis lagi. / No more mail goes there until the applicant writes again.",
                        crate::message::mask(&addr.address)
                    ),
                ));
            }
            Ok(Plan {
                commit,
                render: Box::new(move |_| out.clone()),
            })
        })
        .await?;
        Ok(())
    }

    /// The e-mail addresses of the people a plan writes to (read before the transaction: the
    /// render is pure and addresses its messages the same whatever numbers the commit assigns).
    /// A guest book saved by the same commit counts; addresses whose mail bounced do not.
    fn recipient_emails(
        &self,
        commit: &Commit,
        render: &Render,
    ) -> Result<BTreeMap<Identity, String>, StoreError> {
        let mut emails = BTreeMap::new();
        let draft = render(&Applied::default());
        for m in &draft {
            if matches!(m.to.channel, ChannelKind::Email | ChannelKind::Officers)
                || emails.contains_key(&m.to)
            {
                continue;
            }
            let saved = match &commit.guest {
                Some(u) if commit.who == m.to => u
                    .profile
                    .get("email")
                    .and_then(|a| a.as_text())
                    .map(|e| e.trim().to_string())
                    .filter(|e| e.contains('@')),
                _ => None,
            };
            let addr = match saved {
                Some(a) => Some(a),
                None => self.store.email_of(&m.to)?,
            };
            if let Some(a) = addr
                && !self
                    .store
                    .address_failing(&Identity::new(ChannelKind::Email, a.clone()))?
            {
                emails.insert(m.to.clone(), a);
            }
        }
        Ok(emails)
    }

    /// Runs the dialog step for an applicant and turns its effects into a plan.
    fn applicant_plan(
        &self,
        key: DedupeKey,
        now: DateTime<Utc>,
        msg: &InboundMessage,
    ) -> Result<Plan, StoreError> {
        let bot = &self.bot;
        let from = &msg.from;
        let conv = self.store.session(from)?.unwrap_or_default();
        let guest = self.store.guest_of(from)?;
        // A sender the channel could not prove (an e-mail's bare `From:`) sees and touches no
        // case: their text is not posted to a case's officers, `selesai` moves nothing.
        let cases: Vec<CaseSummary> = match &guest {
            _ if msg.trust == Trust::Claimed => Vec::new(),
            Some(g) => self
                .store
                .cases_of_guest(&g.id)?
                .iter()
                .map(|c| c.summary())
                .collect(),
            None => Vec::new(),
        };
        let mut file_bytes: Vec<(String, Vec<u8>)> = Vec::new();
        let mut keep = |a: &crate::message::Attachment| {
            let (r, bytes) = attachment_ref(a);
            if r.size <= bot.max_attachment_bytes {
                file_bytes.push((r.blob.clone(), bytes));
            }
            r
        };
        let (new_conv, effects) = match &msg.body {
            InboundBody::Mail { text, files } => {
                let files: Vec<_> = files.iter().map(&mut keep).collect();
                self.mail_steps(now, from, guest.as_ref(), &cases, conv, text, files)
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
                let ctx = Ctx {
                    now,
                    identity: from,
                    guest: guest.as_ref(),
                    cases: &cases,
                    issued: &self.issued,
                };
                dialogs::step(bot, &ctx, &conv, &input)
            }
        };
        let effects = if msg.trust == Trust::Claimed {
            refuse_erasure_unproven(bot, &new_conv.lang, effects)
        } else {
            effects
        };
        self.effects_plan(key, now, from, guest, new_conv, effects, file_bytes)
    }

    /// Turns a dialog step's effects into a plan: the commit, and the messages to word once
    /// the commit has assigned numbers.
    #[allow(clippy::too_many_arguments)]
    fn effects_plan(
        &self,
        key: DedupeKey,
        now: DateTime<Utc>,
        from: &Identity,
        guest: Option<Guest>,
        new_conv: dialogs::Conversation,
        effects: Vec<Effect>,
        file_bytes: Vec<(String, Vec<u8>)>,
    ) -> Result<Plan, StoreError> {
        let bot = &self.bot;
        let lang = new_conv.lang.clone();
        let guest_id = guest
            .as_ref()
            .map(|g| g.id.clone())
            .unwrap_or_else(|| Guest::id_for(from));
        let mut commit = Commit::new(key, now, from.clone(), new_conv);
        // Mail from an address that bounced before: it works again.
        if from.channel == ChannelKind::Email && self.store.address_failing(from)? {
            commit.address_failing = Some((from.clone(), false));
        }
        let mut edits = CaseEdits::new();
        // Messages in order; `None` in `to` means the sender.
        let mut out: Vec<OutboundMessage> = Vec::new();
        let mut new_case_post: Option<(Service, String, String)> = None;
        for e in effects {
            match e {
                Effect::Reply(r) => out.push(OutboundMessage {
                    to: from.clone(),
                    text: r.text,
                    choices: r.choices,
                    files: Vec::new(),
                    ask_contact: r.ask_contact,
                    topic: None,
                }),
                Effect::SaveGuest {
                    profile,
                    consent_version,
                    consent_text,
                    visit_for,
                } => {
                    let purpose = profile
                        .get("purpose")
                        .and_then(|a| a.as_text())
                        .map(str::to_string);
                    commit.guest = Some(GuestUpdate {
                        profile,
                        consent_version,
                        consent_text,
                        lang: lang.clone(),
                    });
                    commit.visit = Some(Visit {
                        guest_id: guest_id.clone(),
                        at: now,
                        channel: from.channel,
                        service: visit_for,
                        purpose,
                        name: None,
                    });
                }
                Effect::CreateCase {
                    service,
                    title,
                    form,
                    attachments,
                    confidential,
                } => {
                    let Some(wf) = bot.workflows.get(&service) else {
                        tracing::error!(
                            service = service.prefix(),
                            "no workflow for this service; case not created"
                        );
                        continue;
                    };
                    let dues = flow::dues(wf, &bot.calendar, &wf.start, now, None, &[]);
                    new_case_post = Some((service, title.clone(), wf.start.clone()));
                    commit.new_case = Some(NewCase {
                        service,
                        workflow: wf.id.clone(),
                        stage: wf.start.clone(),
                        stage_due: dues.stage_due,
                        overall_start: dues.overall_start,
                        overall_due: dues.overall_due,
                        year: bot.calendar.local(now).year(),
                        title,
                        lang: lang.clone(),
                        form,
                        attachments,
                        confidential,
                    });
                }
                Effect::KeepFile(hash) => {
                    if let Some((h, bytes)) = file_bytes.iter().find(|(h, _)| *h == hash)
                        && !commit.blobs.iter().any(|(b, _)| b == h)
                    {
                        commit.blobs.push((h.clone(), bytes.clone()));
                    }
                }
                Effect::Forward { case, text } => {
                    if let Some(c) = edits.get(self.store.as_ref(), &case)? {
                        c.history.push(CaseEvent {
                            at: now,
                            actor: HistoryActor::Applicant,
                            kind: "applicant_message".into(),
                            note: Some(text.clone()),
                        });
                        out.push(OutboundMessage::text(
                            Identity::officers(),
                            format!("[{case}] Pesan pemohon / applicant wrote:\n{text}"),
                        ));
                    }
                }
                Effect::AttachToCase { case, file } => {
                    if let Some(c) = edits.get(self.store.as_ref(), &case)? {
                        c.attachments.push(file.clone());
                        c.history.push(CaseEvent {
                            at: now,
                            actor: HistoryActor::Applicant,
                            kind: "applicant_file".into(),
                            note: Some(file.filename.clone()),
                        });
                        let mut m = OutboundMessage::text(
                            Identity::officers(),
                            format!(
                                "[{case}] Berkas dari pemohon / file from the applicant: {}",
                                file.filename
                            ),
                        );
                        m.files.push(file);
                        out.push(m);
                    }
                }
                Effect::ApplicantDone { case } => {
                    out.extend(self.applicant_transition(
                        &mut edits,
                        &case,
                        TransitionKind::Move,
                        now,
                        from,
                        &lang,
                    )?);
                }
                Effect::SaveRating {
                    case,
                    score,
                    comment,
                    skm,
                } => {
                    if let Some(n) = &case {
                        let moved = self.applicant_transition(
                            &mut edits,
                            n,
                            TransitionKind::Rate,
                            now,
                            from,
                            &lang,
                        )?;
                        if moved.is_empty()
                            && let Some(c) = edits.get(self.store.as_ref(), n)?
                        {
                            c.history.push(CaseEvent {
                                at: now,
                                actor: HistoryActor::Applicant,
                                kind: "rated".into(),
                                note: Some(format!("{score}/5")),
                            });
                        }
                        out.extend(moved);
                    }
                    commit.rating = Some(Rating {
                        guest_id: guest.as_ref().map(|g| g.id.clone()),
                        case,
                        at: now,
                        score,
                        comment,
                        skm,
                    });
                }
                Effect::ErasePersonalData => {
                    let (erasure, closed) =
                        crate::privacy::plan_erasure(self.store.as_ref(), &mut edits, from, now)?;
                    out.extend(closed.iter().map(crate::privacy::closed_notice));
                    out.push(OutboundMessage::text(
                        from.clone(),
                        crate::text::fill(
                            &bot.sys("erase_done", &lang),
                            &[("office", bot.office_name.clone())],
                        ),
                    ));
                    commit.erase = Some(erasure);
                }
                Effect::BookAppointment { at, topic } => {
                    out.push(OutboundMessage::text(
                        Identity::officers(),
                        format!(
                            "Janji temu / appointment: {} — {topic}",
                            bot.calendar.format_local(at, bot.default_lang())
                        ),
                    ));
                    commit.timers.push(crate::reminders::appointment_timers(
                        bot, from, &guest_id, now, at, &topic,
                    ));
                    commit.appointment = Some(Appointment {
                        guest_id: guest_id.clone(),
                        booked_at: now,
                        at,
                        topic,
                    });
                }
            }
        }
        edits.into_commit(&mut commit);
        let in_dialog = commit.session.as_ref().is_some_and(|c| c.active.is_some());
        commit
            .timers
            .push(crate::reminders::idle_timer(bot, from, now, in_dialog));
        let bot = self.bot.clone();
        Ok(Plan {
            commit,
            render: Box::new(move |applied: &Applied| {
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
                            m.text = m.text.replace(CASE_MARKER, &number);
                            // The receipt of a new case: a notification the applicant keeps.
                            if m.topic.is_none() && !number.is_empty() {
                                m.topic = Some(Topic::case("case_received", &number, &[]));
                            }
                        }
                        m
                    })
                    .collect();
                if let (Some(n), Some((service, title, start))) = (&applied.case, &new_case_post) {
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
            }),
        })
    }

    /// Runs the dialog over one e-mail: each non-empty line answers the question asked (a
    /// long free-text question takes the lines up to the next empty line), and an attachment
    /// answers a question that asks for a file. It stops at the first answer the dialog does
    /// not take, when a dialog ends (a case is filed), or when the mail is used up. Everything
    /// the answers did is kept; only the replies to the last answer are sent (what is still
    /// missing, the problem with the answer, or the receipt), so one mail gets one reply.
    #[allow(clippy::too_many_arguments)]
    fn mail_steps(
        &self,
        now: DateTime<Utc>,
        from: &Identity,
        guest: Option<&Guest>,
        cases: &[CaseSummary],
        conv: dialogs::Conversation,
        text: &str,
        files: Vec<crate::message::AttachmentRef>,
    ) -> (dialogs::Conversation, Vec<Effect>) {
        let bot = &self.bot;
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let mut files = std::collections::VecDeque::from(files);
        let mut at = 0;
        let mut conv = conv;
        let mut guest: Option<Guest> = guest.cloned();
        let mut kept: Vec<Effect> = Vec::new();
        let mut last_replies: Vec<Effect> = Vec::new();
        // Every step reads the same context but for the guest record, which answers update.
        let base = Ctx {
            now,
            identity: from,
            guest: None,
            cases,
            issued: &self.issued,
        };
        let position = |c: &dialogs::Conversation| {
            c.active
                .as_ref()
                .map(|a| (a.dialog.clone(), a.step.clone(), format!("{:?}", a.sub)))
        };
        let current_kind = |c: &dialogs::Conversation| {
            c.active.as_ref().and_then(|a| {
                bot.dialogs
                    .get(&a.dialog)
                    .and_then(|d| d.step(&a.step))
                    .map(|s| s.kind.clone())
            })
        };
        // The first line of a first mail is also the greeting (it sets the language); it is
        // then read again as the answer to the menu.
        let mut first = conv.last_seen.is_none();
        let mut stepped = false;
        for _ in 0..200 {
            while at < lines.len() && lines[at].is_empty() {
                at += 1;
            }
            let kind = current_kind(&conv);
            let start = at;
            let input = match kind {
                Some(dialogs::spec::StepKind::Attachment(_)) if !files.is_empty() => {
                    Input::File(files.pop_front().expect("not empty"))
                }
                _ if at >= lines.len() => break,
                Some(dialogs::spec::StepKind::Text(text)) if text.max_len > 200 => {
                    let end = lines[at..]
                        .iter()
                        .position(|l| l.is_empty())
                        .map_or(lines.len(), |n| at + n);
                    let answer = lines[at..end].join("\n");
                    at = end;
                    Input::Text(answer)
                }
                _ => {
                    let answer = lines[at].to_string();
                    if !first {
                        at += 1;
                    }
                    first = false;
                    Input::Text(answer)
                }
            };
            let ctx = Ctx {
                guest: guest.as_ref(),
                ..base
            };
            let before = position(&conv);
            let (mut next, mut effects) = dialogs::step(bot, &ctx, &conv, &input);
            let mut rest_taken = false;
            if before.is_none() && next.active.is_none() && conv.last_seen.is_some() {
                // Outside a dialog a line that starts none (a message for an open case's
                // officers, a question for the FAQ) stands for the whole rest of the mail.
                let rest = lines[start..].join("\n").trim().to_string();
                if !rest.is_empty() {
                    (next, effects) = dialogs::step(bot, &ctx, &conv, &Input::Text(rest));
                }
                rest_taken = true;
            }
            stepped = true;
            conv = next;
            last_replies.clear();
            let mut filed = false;
            for e in effects {
                match e {
                    Effect::Reply(_) => last_replies.push(e),
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
                            lang: conv.lang.clone(),
                        };
                        let mut c =
                            Commit::new(DedupeKey(String::new()), now, from.clone(), conv.clone());
                        c.guest = Some(update.clone());
                        guest = Some(crate::store::merged_guest(guest.take(), &c, &update));
                        kept.push(e);
                    }
                    Effect::CreateCase { .. } => {
                        filed = true;
                        kept.push(e);
                    }
                    other => kept.push(other),
                }
            }
            let after = position(&conv);
            let stuck = before.is_some() && before == after;
            let ended = before.is_some() && after.is_none();
            if filed || stuck || ended || rest_taken {
                break;
            }
        }
        if !stepped {
            // A mail with nothing to read: its file (for an open case), or the menu.
            let input = match files.pop_front() {
                Some(f) => Input::File(f),
                None => Input::Text("menu".into()),
            };
            let ctx = Ctx {
                guest: guest.as_ref(),
                ..base
            };
            let (next, effects) = dialogs::step(bot, &ctx, &conv, &input);
            conv = next;
            last_replies.clear();
            for e in effects {
                match e {
                    Effect::Reply(_) => last_replies.push(e),
                    other => kept.push(other),
                }
            }
        }
        // One mail in, one mail out: the replies of the last answer together.
        let mut merged: Option<dialogs::Reply> = None;
        for e in last_replies {
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
        kept.extend(merged.map(Effect::Reply));
        (conv, kept)
    }

    /// The applicant takes the transition of `kind` out of the case's current stage (their
    /// revision is done, they paid, they rated). Returns the notification and the officers' post,
    /// or a polite "nothing is waiting on you" when there is no such transition.
    fn applicant_transition(
        &self,
        edits: &mut CaseEdits,
        n: &CaseNumber,
        kind: TransitionKind,
        now: DateTime<Utc>,
        from: &Identity,
        lang: &str,
    ) -> Result<Vec<OutboundMessage>, StoreError> {
        let bot = &self.bot;
        let Some(case) = edits.get(self.store.as_ref(), n)? else {
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
                out.push(OutboundMessage::text(
                    Identity::officers(),
                    notify::officers_line(bot, case, t, "pemohon / applicant", None),
                ));
                Ok(out)
            }
            Err(_) if kind == TransitionKind::Rate => Ok(Vec::new()),
            Err(_) => Ok(vec![OutboundMessage::text(
                from.clone(),
                crate::text::fill(&bot.sys("not_waiting", lang), &[("case", n.to_string())]),
            )]),
        }
    }
}

/// Erasing someone's data needs proof that it is them: for an unproven sender the erasure is
/// replaced by a word on how to prove it (answer one of our mails).
fn refuse_erasure_unproven(bot: &Bot, lang: &str, effects: Vec<Effect>) -> Vec<Effect> {
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

/// Describes an uploaded file by its content hash, with a safe file name.
pub fn attachment_ref(a: &crate::message::Attachment) -> (crate::message::AttachmentRef, Vec<u8>) {
    let hash = hex::encode(Sha256::digest(&a.bytes));
    (
        crate::message::AttachmentRef {
            blob: hash,
            filename: sanitize_filename(&a.filename),
            mime: a.mime.clone(),
            size: a.bytes.len() as u64,
        },
        a.bytes.clone(),
    )
}

/// Keeps only the last path component and safe characters of an uploaded file name.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() {
        "file".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_odd_characters() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            sanitize_filename("C:\\Users\\budi\\Kuesioner v2.pdf"),
            "Kuesioner v2.pdf"
        );
        assert_eq!(sanitize_filename("a<b>.pdf"), "a_b_.pdf");
        assert_eq!(sanitize_filename(".."), "file");
    }
}
