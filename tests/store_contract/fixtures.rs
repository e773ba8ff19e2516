//! The records the contracts commit: people, messages, cases and guest book answers.

use chrono::{Duration, TimeZone, Utc};
use pstbot::cases::{Answer, Service};
use pstbot::dialogs::Conversation;
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::{Commit, DedupeKey, GuestUpdate, NewCase};
use std::collections::BTreeMap;

pub fn who(name: &str) -> Identity {
    Identity::new(ChannelKind::Telegram, name)
}

pub fn commit(id: &str, from: &Identity, minutes: i64) -> Commit {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap() + Duration::minutes(minutes);
    let session = Conversation {
        lang: "id".into(),
        active: None,
        last_seen: Some(at),
        pending_send: None,
        erase_asked: false,
        last_listing: None,
    };
    Commit::new(DedupeKey::new(from, id), at, from.clone(), session)
}

pub fn new_case(service: Service, year: i32, title: &str) -> NewCase {
    NewCase {
        service,
        workflow: "wf".into(),
        stage: "start".into(),
        stage_due: None,
        overall_start: None,
        overall_due: None,
        year,
        title: title.into(),
        lang: "id".into(),
        form: Vec::new(),
        attachments: Vec::new(),
        confidential: false,
    }
}

pub fn guest(name: &str) -> GuestUpdate {
    let mut profile = BTreeMap::new();
    profile.insert("name".to_string(), Answer::Text(name.into()));
    GuestUpdate {
        profile,
        consent_version: "2026-01".into(),
        consent_text: "Setuju / agreed".into(),
        lang: "id".into(),
    }
}
