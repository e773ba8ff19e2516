//! The runtime: the one path every inbound message takes.
//!
//! dedupe check → load conversation, guest and cases → pure dialog step (or officer command) →
//! one store commit with the dedupe mark → flush → replies. Messages of one person are handled
//! one at a time (a lock per identity shard), so two quick messages cannot race.

use crate::admin;
use crate::cases::CaseSummary;
use crate::config::OfficerConfig;
use crate::dialogs::data::Activity;
use crate::dialogs::{self, Bot, CASE_MARKER, Conversation, Ctx, Effect, Input};
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::{ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage};
use crate::store::{Commit, Committed, DedupeKey, GuestUpdate, NewCase, Store, StoreError};
use chrono::{DateTime, Datelike, Utc};
use sha2::{Digest, Sha256};
use std::collections::hash_map::DefaultHasher;
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

/// Stages after which a recommendation counts as issued (searchable by later applicants).
pub const ISSUED_STAGES: [&str; 3] = ["letter_sent", "rated", "closed"];

const LOCK_SHARDS: usize = 64;

/// Handles inbound messages; shared by every channel.
pub struct Runtime {
    pub bot: Arc<Bot>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    officers: Vec<OfficerConfig>,
    issued: Vec<Activity>,
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl Runtime {
    pub fn new(
        bot: Arc<Bot>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        officers: Vec<OfficerConfig>,
    ) -> Result<Runtime, StoreError> {
        let issued = store
            .recommended_cases(&ISSUED_STAGES)?
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
            issued,
            locks: (0..LOCK_SHARDS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        })
    }

    /// The officer this identity belongs to, if any.
    pub fn officer(&self, who: &Identity) -> Option<&OfficerConfig> {
        self.officers.iter().find(|o| match who.channel {
            ChannelKind::Terminal => o.terminal.as_deref() == Some(who.address.as_str()),
            ChannelKind::Telegram => {
                o.telegram_user_id.map(|id| id.to_string()) == Some(who.address.clone())
            }
            ChannelKind::Whatsapp => o.whatsapp.as_deref() == Some(who.address.as_str()),
            ChannelKind::Email => o
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&who.address)),
            _ => false,
        })
    }

    fn shard(&self, who: &Identity) -> &tokio::sync::Mutex<()> {
        let mut h = DefaultHasher::new();
        who.hash(&mut h);
        &self.locks[(h.finish() as usize) % LOCK_SHARDS]
    }

    /// Handles one inbound message and returns the replies. A message handled before returns no
    /// replies and changes nothing. When this returns `Ok`, the effects are on disk.
    pub async fn handle(&self, msg: InboundMessage) -> Result<Vec<OutboundMessage>, RuntimeError> {
        let key = DedupeKey::new(&msg.from, &msg.id);
        let _turn = self.shard(&msg.from).lock().await;
        if self.store.is_handled(&key)? {
            tracing::debug!(from = %msg.from.masked(), "duplicate message ignored");
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let (session, replies, new_case) = if let Some(officer) = self.officer(&msg.from) {
            let text = match &msg.body {
                InboundBody::Text(t) => t.clone(),
                _ => String::new(),
            };
            let replies = admin::handle(self, officer, &text)?;
            let commit = Commit::new(key, now, msg.from.clone(), Conversation::default());
            (commit, replies, false)
        } else {
            self.applicant_commit(key, now, &msg)?
        };
        let outcome = self.store.commit(session)?;
        let case = match outcome {
            Committed::Duplicate => return Ok(Vec::new()),
            Committed::Applied { case } => case,
        };
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| RuntimeError::Join(e.to_string()))??;
        if new_case && let Some(n) = &case {
            tracing::info!(case = %n, channel = msg.from.channel.as_str(), "case created");
        }
        let number = case.map(|n| n.to_string()).unwrap_or_default();
        Ok(replies
            .into_iter()
            .map(|r| OutboundMessage {
                to: msg.from.clone(),
                text: r.text.replace(CASE_MARKER, &number),
                choices: r.choices,
            })
            .collect())
    }

    /// Runs the dialog step for an applicant and turns its effects into a commit.
    fn applicant_commit(
        &self,
        key: DedupeKey,
        now: DateTime<Utc>,
        msg: &InboundMessage,
    ) -> Result<(Commit, Vec<dialogs::Reply>, bool), StoreError> {
        let from = &msg.from;
        let conv = self.store.session(from)?.unwrap_or_default();
        let guest = self.store.guest_of(from)?;
        let cases: Vec<CaseSummary> = match &guest {
            Some(g) => self
                .store
                .cases_of_guest(&g.id)?
                .iter()
                .map(|c| c.summary())
                .collect(),
            None => Vec::new(),
        };
        let mut file_bytes: Option<(String, Vec<u8>)> = None;
        let input = match &msg.body {
            InboundBody::Text(t) => Input::Text(t.clone()),
            InboundBody::Choice(c) => Input::Choice(c.clone()),
            InboundBody::Contact { phone, own } => Input::Contact {
                phone: phone.clone(),
                own: *own,
            },
            InboundBody::Attachment(a) => {
                let hash = hex::encode(Sha256::digest(&a.bytes));
                let r = crate::cases::AttachmentRef {
                    blob: hash.clone(),
                    filename: sanitize_filename(&a.filename),
                    mime: a.mime.clone(),
                    size: a.bytes.len() as u64,
                };
                if a.bytes.len() as u64 <= self.bot.max_attachment_bytes {
                    file_bytes = Some((hash, a.bytes.clone()));
                }
                Input::File(r)
            }
        };
        let ctx = Ctx {
            now,
            identity: from,
            guest: guest.as_ref(),
            cases: &cases,
            issued: &self.issued,
        };
        let (new_conv, effects) = dialogs::step(&self.bot, &ctx, &conv, &input);
        let lang = new_conv.lang.clone();
        let guest_id = guest
            .as_ref()
            .map(|g| g.id.clone())
            .unwrap_or_else(|| Guest::id_for(from));
        let mut commit = Commit::new(key, now, from.clone(), new_conv);
        let mut replies = Vec::new();
        let mut new_case = false;
        for e in effects {
            match e {
                Effect::Reply(r) => replies.push(r),
                Effect::SaveGuest {
                    profile,
                    consent_version,
                    visit_for,
                } => {
                    let purpose = profile
                        .get("purpose")
                        .and_then(|a| a.as_text())
                        .map(str::to_string);
                    commit.guest = Some(GuestUpdate {
                        profile,
                        consent_version,
                        lang: lang.clone(),
                    });
                    commit.visit = Some(Visit {
                        guest_id: guest_id.clone(),
                        at: now,
                        channel: from.channel,
                        service: visit_for,
                        purpose,
                    });
                }
                Effect::CreateCase {
                    service,
                    title,
                    form,
                    attachments,
                    confidential,
                } => {
                    let year = self.bot.calendar.local(now).year();
                    commit.new_case = Some(NewCase {
                        service,
                        year,
                        title,
                        lang: lang.clone(),
                        form,
                        attachments,
                        confidential,
                    });
                    new_case = true;
                }
                Effect::KeepFile(hash) => {
                    if let Some((h, bytes)) = &file_bytes
                        && *h == hash
                    {
                        commit.blobs.push((h.clone(), bytes.clone()));
                    }
                }
                Effect::SaveRating {
                    case,
                    score,
                    comment,
                    skm,
                } => {
                    if let Some(n) = &case {
                        commit.case_events.push((
                            n.clone(),
                            crate::cases::CaseEvent {
                                at: now,
                                actor: crate::cases::Actor::Applicant,
                                kind: "rated".into(),
                                note: Some(format!("{score}/5")),
                            },
                        ));
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
                Effect::BookAppointment { at, topic } => {
                    commit.appointment = Some(Appointment {
                        guest_id: guest_id.clone(),
                        booked_at: now,
                        at,
                        topic,
                    });
                }
            }
        }
        Ok((commit, replies, new_case))
    }
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
