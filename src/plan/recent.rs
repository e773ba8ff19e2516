//! The commands lately answered in each officers' chat (issue 20, item 5): when two or three
//! officers send the same command in the group within a minute (`antrian`, `lihat ADU-…`, or a
//! double press of `pindah …`), the group gets one answer and the command is done once — the
//! answer is still on screen for everyone, and the group's 20 messages a minute are shared by
//! all.
//!
//! Kept in memory, by destination chat, not in the store: officers write concurrently (each
//! in their own turn), so a stored record would be read by two plans at once and both would
//! answer; one lock here decides who answers first. What is lost on a restart is at most one
//! more answer; with several processes on one store, each answers once.

use crate::store::DedupeKey;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a command's answer counts as still on screen.
const ON_SCREEN: i64 = 60;

/// A chat and a command (with its arguments) sent there.
type ChatCommand = (String, String);

/// The last answer of each command in each officers' chat: when, and to which message.
#[derive(Default)]
pub struct RecentCommands {
    answered: Mutex<HashMap<ChatCommand, (DateTime<Utc>, DedupeKey)>>,
}

impl RecentCommands {
    /// Whether `command` (with its arguments) sent in `chat` by message `by` at `now` is to be
    /// answered: not when another message had it answered there less than a minute ago.
    /// Remembers it when it is.
    /// The same message asks again when its plan is made again after a conflict: answered.
    pub fn answer(&self, chat: &str, command: &str, by: &DedupeKey, now: DateTime<Utc>) -> bool {
        let mut answered = self.answered.lock().unwrap_or_else(|p| p.into_inner());
        answered.retain(|_, (at, _)| now - *at < Duration::seconds(ON_SCREEN));
        let key = (chat.to_string(), command.to_string());
        if answered.get(&key).is_some_and(|(_, k)| k != by) {
            return false;
        }
        answered.insert(key, (now, by.clone()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(id: &str) -> DedupeKey {
        DedupeKey(format!("telegram:{id}"))
    }

    #[test]
    fn a_command_is_answered_once_a_minute_per_chat() {
        let l = RecentCommands::default();
        let t = Utc.with_ymd_and_hms(2026, 3, 16, 3, 0, 0).unwrap();
        assert!(l.answer("g", "Queue", &key("1"), t));
        // Another officer, 30 s later: not again; the same message planned again: yes.
        assert!(!l.answer("g", "Queue", &key("2"), t + Duration::seconds(30)));
        assert!(l.answer("g", "Queue", &key("1"), t + Duration::seconds(1)));
        // Another command, another chat: answered.
        assert!(l.answer("g", "Today", &key("3"), t + Duration::seconds(30)));
        assert!(l.answer("h", "Queue", &key("4"), t + Duration::seconds(30)));
        // A minute after the last answer: answered again.
        assert!(l.answer("g", "Queue", &key("5"), t + Duration::seconds(61)));
    }
}
