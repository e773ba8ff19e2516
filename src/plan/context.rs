//! The planning context: everything a planner may read while it decides what one message, timer
//! or officer's command will do — and nothing it could use to write, lock or send.

use crate::config::OfficerConfig;
use crate::dialogs::Bot;
use crate::dialogs::data::Activity;
use crate::message::Identity;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What a planner reads: the office's dialogs, workflows, calendar and texts (in `bot`), the
/// store as it stands, the instant the plan is made at, the officers, the recommendations
/// issued, and the few settings planners word things with. The runtime makes one for every
/// attempt at a plan (a plan made again after a conflict gets a new `now`), so a planner never
/// needs the runtime itself: it returns a [`super::Plan`] and the runtime commits it.
#[derive(Clone, Copy)]
pub struct PlanContext<'a> {
    /// The dialogs, workflows, office calendar, system and officers' texts, reminder settings
    /// (shared: a plan's render, which words its messages after the commit, may keep it).
    pub bot: &'a Arc<Bot>,
    /// The store, to read from while planning. Planners never write it: everything they change
    /// goes into the plan's commit, which the runtime applies in one transaction.
    pub store: &'a dyn Store,
    /// The instant the plan is made at; its commit carries the same time.
    pub now: DateTime<Utc>,
    /// The officers of the config: their roles, names and where each is reached.
    pub officers: &'a [OfficerConfig],
    /// How the channels reach an officer directly.
    pub officer_ids: &'a dyn crate::config::OfficerIdentities,
    /// Statistical activities whose recommendation letter went out (the dialogs' activity
    /// search offers them beside the data file).
    pub issued: &'a [Activity],
    /// Average desk minutes per walk-in visitor, for the queue's wait estimate
    /// (`office.minutes_per_visitor`).
    pub minutes_per_visitor: u32,
    /// The commands lately answered in each officers' chat (answered once a minute there).
    pub recent_commands: &'a super::recent::RecentCommands,
}

impl PlanContext<'_> {
    /// The language a person reads: their conversation's when it is configured, else the
    /// office's default.
    pub fn lang_of(&self, who: &Identity) -> Result<String, StoreError> {
        Ok(self
            .store
            .session(who)?
            .map(|c| c.lang)
            .filter(|l| self.bot.languages.contains(l))
            .unwrap_or_else(|| self.bot.default_lang().to_string()))
    }

    /// An officers' chat text (`dialogs/officers.toml`) with its placeholders filled.
    pub fn officer_text(&self, key: &str, vars: &[(&str, String)]) -> String {
        self.bot.texts.officer(key, vars)
    }
}
