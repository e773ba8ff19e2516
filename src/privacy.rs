//! Personal-data rights (UU PDP, Law 27/2022): erasing a person's data on request (`hapusdata`)
//! or after the retention period, and the audit log of officers' access to personal data.
//!
//! An erasure is one store commit: the runtime anonymises the person's cases here (they keep
//! service, channel, stages and times, so reports still count them) and the store removes or
//! anonymises every other record that names them (see [`Erasure`]).

use crate::cases::{Actor, Case, CaseEvent, CaseNumber};
use crate::guestbook::Guest;
use crate::message::{Identity, OutboundMessage};
use crate::plan::{CaseEdits, Plan};
use crate::runtime::{Runtime, RuntimeError};
use crate::store::{AuditEntry, Commit, DedupeKey, Erasure, Store, StoreError};
use chrono::{DateTime, Utc};

/// What an erased case's title becomes.
pub const ERASED_TITLE: &str = "[data dihapus / erased]";

/// A fresh id for an erased person's anonymised records: random, so it cannot be traced back.
pub fn anon_id() -> String {
    format!("ANON-{:016x}", fastrand::u64(..))
}

/// Anonymises one case in place: keeps what reports count (service, channel, stages and
/// times), drops what names or describes the person. An open case is closed. Returns the
/// content hashes of the files it held.
pub fn anonymise_case(case: &mut Case, anon: &str, now: DateTime<Utc>) -> Vec<String> {
    let files = case.attachments.drain(..).map(|a| a.blob).collect();
    case.guest_id = anon.to_string();
    case.origin = Identity::new(case.origin.channel, anon);
    case.title = ERASED_TITLE.into();
    case.form.clear();
    for e in &mut case.history {
        e.note = None;
    }
    if case.open {
        case.open = false;
        if let Some((_, end @ None)) = case.stops.last_mut() {
            *end = Some(now);
        }
        case.history.push(CaseEvent {
            at: now,
            actor: Actor::Applicant,
            kind: "erased".into(),
            note: None,
        });
    }
    files
}

/// Plans the erasure of the person known as `who` (and every identity their guest record
/// lists): anonymises their cases in `edits` and returns the erasure and the cases it closed.
pub fn plan_erasure(
    store: &dyn Store,
    edits: &mut CaseEdits,
    who: &Identity,
    now: DateTime<Utc>,
) -> Result<(Erasure, Vec<CaseNumber>), StoreError> {
    let guest = store.guest_of(who)?;
    let guest_id = guest
        .as_ref()
        .map(|g| g.id.clone())
        .unwrap_or_else(|| Guest::id_for(who));
    // The guest book's e-mail address counts as theirs too: notifications were copied there.
    let email = guest
        .as_ref()
        .and_then(|g| g.email())
        .map(|e| Identity::new(crate::message::ChannelKind::Email, e));
    let mut identities = guest.map(|g| g.identities).unwrap_or_default();
    for id in std::iter::once(who.clone()).chain(email) {
        if !identities.contains(&id) {
            identities.push(id);
        }
    }
    let anon = anon_id();
    let mut blobs = Vec::new();
    let mut closed = Vec::new();
    let mut cases = Vec::new();
    for c in store.cases_of_guest(&guest_id)? {
        cases.push(c.number.to_string());
        if let Some(case) = edits.get(store, &c.number)? {
            if case.open {
                closed.push(case.number.clone());
            }
            blobs.extend(anonymise_case(case, &anon, now));
        }
    }
    blobs.sort();
    blobs.dedup();
    Ok((
        Erasure {
            guest_id,
            identities,
            blobs,
            anon_id: anon,
            cases,
        },
        closed,
    ))
}

/// The officers' note that an erasure closed a case.
pub fn closed_notice(n: &CaseNumber) -> OutboundMessage {
    OutboundMessage::text(
        Identity::officers(),
        format!(
            "[{n}] ditutup: pemohon menghapus data pribadinya (UU PDP).\nClosed: the applicant erased their personal data."
        ),
    )
}

/// When the person last did anything: their guest record, conversations and cases.
fn last_activity(store: &dyn Store, g: &Guest) -> Result<(DateTime<Utc>, bool), StoreError> {
    let mut last = g.updated_at;
    for who in &g.identities {
        if let Some(seen) = store.session(who)?.and_then(|c| c.last_seen) {
            last = last.max(seen);
        }
    }
    let mut open = false;
    for c in store.cases_of_guest(&g.id)? {
        open |= c.open;
        if let Some(e) = c.history.last() {
            last = last.max(e.at);
        }
    }
    Ok((last, open))
}

/// How many guests the retention purge reads at a time.
const PURGE_PAGE: usize = 512;

impl Runtime {
    /// Erases the personal data of every person inactive for longer than the retention
    /// period who has no open case (SPEC §6). Returns how many were erased.
    pub async fn purge_inactive(&self) -> Result<usize, RuntimeError> {
        let now = self.clock.now();
        let Ok(retention) = chrono::Duration::from_std(self.retention) else {
            return Ok(0);
        };
        let mut erased = 0;
        // Reading every guest and their cases takes seconds on a large store: off the async
        // workers, so webhooks are answered meanwhile.
        let store = self.store.clone();
        let candidates = tokio::task::spawn_blocking(move || {
            // A page at a time: a million guests do not fit in memory at once.
            let mut out = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = store.guests_page(after.as_deref(), PURGE_PAGE)?;
                for g in &page {
                    let (last, open) = last_activity(store.as_ref(), g)?;
                    if !open
                        && now - last >= retention
                        && let Some(who) = g.identities.first()
                    {
                        out.push(who.clone());
                    }
                }
                match page.last() {
                    Some(g) if page.len() == PURGE_PAGE => after = Some(g.id.clone()),
                    _ => break,
                }
            }
            Ok::<_, StoreError>(out)
        })
        .await
        .map_err(|e| RuntimeError::Join(e.to_string()))??;
        for who in candidates {
            let _turn = self.shard(&who).lock().await;
            // Checked again in the person's turn: they may have written since the scan.
            let Some(g) = self.store.guest_of(&who)? else {
                continue;
            };
            let (last, open) = last_activity(self.store.as_ref(), &g)?;
            if open || now - last < retention {
                continue;
            }
            let done = self
                .commit_planned(|now| {
                    let mut edits = CaseEdits::new();
                    let (erasure, _) = plan_erasure(self.store.as_ref(), &mut edits, &who, now)?;
                    let mut commit = Commit::new(
                        DedupeKey(format!("purge:{}", erasure.anon_id)),
                        now,
                        Identity::new(crate::message::ChannelKind::Desk, "retention"),
                        Default::default(),
                    );
                    commit.session = None;
                    commit.audit.push(AuditEntry {
                        at: now,
                        officer: "system".into(),
                        action: "retention_purge".into(),
                        subject: erasure.anon_id.clone(),
                    });
                    edits.into_commit(&mut commit);
                    commit.erase = Some(erasure);
                    Ok(Plan {
                        commit,
                        render: Box::new(|_| Vec::new()),
                    })
                })
                .await?;
            if done.is_some() {
                erased += 1;
            }
        }
        if erased > 0 {
            tracing::info!(
                erased,
                "retention: personal data of inactive persons erased"
            );
        }
        Ok(erased)
    }
}
