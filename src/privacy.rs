//! Personal-data rights (UU PDP, Law 27/2022): erasing a person's data on request (`hapusdata`)
//! or after the retention period, and the audit log of officers' access to personal data.
//!
//! An erasure is one store commit: its plan anonymises the person's cases here (they keep
//! service, channel, stages and times, so reports still count them) and the store removes or
//! anonymises every other record that names them (see [`Erasure`]). The runtime commits the
//! plans made here: on the person's request, and in its daily retention purge.

use crate::cases::{Actor, Case, CaseEvent, CaseNumber};
use crate::guestbook::Guest;
use crate::message::{Identity, OutboundMessage};
use crate::plan::{CaseEdits, Plan, PlanContext};
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
    ctx: &PlanContext,
    edits: &mut CaseEdits,
    who: &Identity,
) -> Result<(Erasure, Vec<CaseNumber>), StoreError> {
    let (store, now) = (ctx.store, ctx.now);
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
pub fn closed_notice(ctx: &PlanContext, n: &CaseNumber) -> OutboundMessage {
    OutboundMessage::text(
        Identity::officers(),
        ctx.officer_text("officers_case_erased", &[("case", n.to_string())]),
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

/// The persons inactive for longer than `retention` at `now` who have no open case: the first
/// identity of each, read a page of guests at a time (a million guests do not fit in memory at
/// once). Blocking: the runtime runs it off the async workers.
pub fn inactive_persons(
    store: &dyn Store,
    now: DateTime<Utc>,
    retention: chrono::Duration,
) -> Result<Vec<Identity>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.guests_page(after.as_deref(), PURGE_PAGE)?;
        for g in &page {
            let (last, open) = last_activity(store, g)?;
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
    Ok(out)
}

/// Whether the person known as `who` is still inactive for longer than `retention` at `now`
/// with no open case (checked again in their turn: they may have written since the scan).
pub fn still_inactive(
    store: &dyn Store,
    who: &Identity,
    now: DateTime<Utc>,
    retention: chrono::Duration,
) -> Result<bool, StoreError> {
    let Some(g) = store.guest_of(who)? else {
        return Ok(false);
    };
    let (last, open) = last_activity(store, &g)?;
    Ok(!open && now - last >= retention)
}

/// Plans the retention purge of the person known as `who`: their erasure, recorded in the
/// audit log as the system's. Nobody is told.
pub fn purge_plan(ctx: &PlanContext, who: &Identity) -> Result<Plan, StoreError> {
    let mut edits = CaseEdits::new();
    let (erasure, _) = plan_erasure(ctx, &mut edits, who)?;
    let mut commit = Commit::new(
        DedupeKey(format!("purge:{}", erasure.anon_id)),
        ctx.now,
        Identity::new(crate::message::ChannelKind::Desk, "retention"),
        Default::default(),
    );
    commit.session = None;
    commit.audit.push(AuditEntry {
        at: ctx.now,
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
}
