//! The runtime: the one path every inbound message and every fired timer takes.
//!
//! dedupe check → the person's turn ([`turns`]) → a plan (the pure dialog step turned into a
//! commit by [`effects`], or a planner: an officer's command in `admin`, a reminder in
//! `reminders`, an erasure in `privacy`) → one store commit with the dedupe mark and the plan's
//! follow-ups ([`followups`]: its messages, their e-mail copies, the reminders of the cases it
//! writes) → a flush shared with concurrent commits (group commit) → the rows handed to the
//! delivery worker ([`handoff`]).
//!
//! Planners get a [`PlanContext`] (what they may read), never the runtime: the runtime calls
//! them, not the other way round. The runtime is built once, by [`Runtime::new`] from
//! [`RuntimeParts`], in the service (`app`) and in tests alike.

mod clock;
mod commit;
mod effects;
mod flood;
mod followups;
mod handoff;
pub mod lease;
mod mail;
mod message;
mod officers;
mod purge;
mod timers;
mod turns;

pub use crate::plan::{attachment_ref, sanitize_filename};
pub use clock::{Clock, FixedClock, SystemClock};
pub use handoff::{Attached, Handoff, OutboxFeed};

use crate::cases::Service;
use crate::config::{Config, OfficerConfig, OfficerIdentities};
use crate::dialogs::Bot;
use crate::dialogs::data::Activity;
use crate::message::Identity;
use crate::plan::PlanContext;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Datelike, Utc};
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the flush task failed: {0}")]
    Join(String),
}

/// How long records are kept before housekeeping thins them (`[store]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// Dedupe marks of inbound messages (`store.dedupe_kept`).
    pub dedupe: std::time::Duration,
    /// The text of delivered messages (`store.sent_text_kept`).
    pub sent_text: std::time::Duration,
}

impl Default for Kept {
    fn default() -> Self {
        let c = crate::config::StoreConfig::default();
        Kept {
            dedupe: c.dedupe_kept,
            sent_text: c.sent_text_kept,
        }
    }
}

/// The settings of the running service that the runtime and the work it drives read: the
/// flood limit, the queue estimate, how long personal data and old records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Messages one sender may send per minute (`conversation.messages_per_minute`); `0` is no
    /// limit.
    pub messages_per_minute: u32,
    /// Average desk minutes per walk-in visitor, for queue estimates
    /// (`office.minutes_per_visitor`).
    pub minutes_per_visitor: u32,
    /// Personal data of persons inactive this long is erased (`privacy.retention`).
    pub retention: std::time::Duration,
    /// How long housekeeping keeps dedupe marks and sent texts (`[store]`).
    pub kept: Kept,
}

impl Default for Settings {
    /// The settings of a bare runtime (tests, tools): no flood limit, the config's defaults
    /// otherwise.
    fn default() -> Self {
        Settings {
            messages_per_minute: 0,
            minutes_per_visitor: 15,
            retention: crate::config::PrivacyConfig::default().retention,
            kept: Kept::default(),
        }
    }
}

impl Settings {
    /// The settings a config asks for.
    pub fn from_config(config: &Config) -> Self {
        Settings {
            messages_per_minute: config.conversation.messages_per_minute,
            minutes_per_visitor: config.office.minutes_per_visitor,
            retention: config.privacy.retention,
            kept: Kept {
                dedupe: config.store.dedupe_kept,
                sent_text: config.store.sent_text_kept,
            },
        }
    }
}

/// Everything a runtime is built from. The service builds it from the config
/// (`app::build_on`); tests and tools start from [`RuntimeParts::new`] and change what they need.
pub struct RuntimeParts {
    pub bot: Arc<Bot>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub officers: Vec<OfficerConfig>,
    /// How the channels recognise and reach officers (`channels::officers(config)`).
    pub officer_ids: Arc<dyn OfficerIdentities>,
    pub settings: Settings,
}

impl RuntimeParts {
    /// The parts of a runtime with the default [`Settings`].
    pub fn new(
        bot: Arc<Bot>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        officers: Vec<OfficerConfig>,
        officer_ids: Arc<dyn OfficerIdentities>,
    ) -> Self {
        RuntimeParts {
            bot,
            store,
            clock,
            officers,
            officer_ids,
            settings: Settings::default(),
        }
    }
}

/// Handles inbound messages and fired timers; shared by every channel and worker.
pub struct Runtime {
    pub bot: Arc<Bot>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub officers: Vec<OfficerConfig>,
    officer_ids: Arc<dyn OfficerIdentities>,
    /// Fixed when the runtime is built (the flood limit is set up from them then).
    settings: Settings,
    /// Activities whose recommendation letter went out, read once at start.
    issued: Vec<Activity>,
    flood: flood::FloodGate,
    turns: turns::Turns,
    /// The commands lately answered in each officers' chat (issue 20, item 5).
    recent_commands: crate::plan::recent::RecentCommands,
    /// Woken after a commit queued messages that were not handed off (the delivery worker
    /// then reads the store for them).
    pub outbox_wake: Arc<Notify>,
    /// Rows whose commit is flushed, handed straight to the running delivery worker.
    pub handoff: Arc<Handoff>,
    /// Woken after a commit changed timers (the scheduler waits on it).
    pub timers_wake: Arc<Notify>,
}

impl Runtime {
    /// Builds the runtime: the one constructor, for the service and tests alike.
    pub fn new(parts: RuntimeParts) -> Result<Runtime, StoreError> {
        let RuntimeParts {
            bot,
            store,
            clock,
            officers,
            officer_ids,
            settings,
        } = parts;
        let issued = issued_activities(&bot, store.as_ref())?;
        Ok(Runtime {
            bot,
            store,
            clock,
            officers,
            officer_ids,
            settings,
            issued,
            flood: flood::FloodGate::new(settings.messages_per_minute),
            turns: turns::Turns::new(),
            recent_commands: Default::default(),
            outbox_wake: Arc::new(Notify::new()),
            handoff: Arc::new(Handoff::default()),
            timers_wake: Arc::new(Notify::new()),
        })
    }

    /// The settings the runtime was built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What the planners may read for a plan made at `now`.
    pub(crate) fn plan_context(&self, now: DateTime<Utc>) -> PlanContext<'_> {
        PlanContext {
            bot: &self.bot,
            store: self.store.as_ref(),
            now,
            officers: &self.officers,
            officer_ids: &*self.officer_ids,
            issued: &self.issued,
            minutes_per_visitor: self.settings.minutes_per_visitor,
            recent_commands: &self.recent_commands,
        }
    }

    /// What the delivery worker takes from the runtime: the store, the clock, the officers'
    /// texts, its wake-up and the hand-off.
    pub fn outbox_feed(&self) -> OutboxFeed {
        OutboxFeed {
            store: self.store.clone(),
            clock: self.clock.clone(),
            texts: self.bot.texts.clone(),
            wake: self.outbox_wake.clone(),
            handoff: self.handoff.clone(),
        }
    }

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
}

/// The activities recommended through issued cases. A recommendation counts as issued once its
/// letter went out: states that ask for a rating, and final ones.
fn issued_activities(bot: &Bot, store: &dyn Store) -> Result<Vec<Activity>, StoreError> {
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
    Ok(store
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
        .collect())
}
