//! The statements that write one record, shared by the commit's [`super::tx::PgTx`] and the
//! writes outside commits (delivery marks, timers, transfers).

use super::rows::{
    actor_columns, case_key, clean, clean_opt, event_ref, record, reminder_kind, status_text,
};
use super::{Conn, Param};
use crate::cases::Case;
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::Identity;
use crate::store::records::{FailedRecord, OutboxRow, SentRecord, Timer};
use crate::store::{AuditEntry, DedupeKey};
use tokio_postgres::types::Json;

/// The guest book's spelling of an identity's failing mark: addresses compare without case.
pub(super) fn failing_key(who: &Identity) -> String {
    clean(&format!(
        "{}:{}",
        who.channel.as_str(),
        who.address.to_lowercase()
    ))
}

/// The phone number a guest gave, for the `guests.phone` column.
pub(super) fn guest_phone(g: &Guest) -> Option<&str> {
    g.profile
        .get("phone")
        .and_then(crate::cases::Answer::as_text)
}

/// Queues (or rewrites) an outbox row.
pub(super) fn write_row(c: &Conn, row: &OutboxRow) -> Result<(), tokio_postgres::Error> {
    let id = row.id as i64;
    c.execute(
        "INSERT INTO outbox (id, key, chat, channel, created_at, attempts, not_before, last_error, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET key = $2, chat = $3, channel = $4, created_at = $5,
           attempts = $6, not_before = $7, last_error = $8, record = $9",
        &[
            &id,
            &clean(&row.key),
            &clean(&row.msg.to.to_string()),
            &row.msg.to.channel.as_str(),
            &row.created_at,
            &(row.attempts as i32),
            &row.not_before,
            &clean_opt(row.last_error.as_deref()),
            &Json(row),
        ],
    )?;
    Ok(())
}

/// Writes a delivery record (its provider ids are registered apart, see [`write_refs`]).
pub(super) fn write_sent(c: &Conn, rec: &SentRecord) -> Result<(), tokio_postgres::Error> {
    let status = rec.status.map(status_text);
    c.execute(
        "INSERT INTO outbox_sent (id, key, recipient, channel, at, provider_ref, status, status_at, has_text, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET key = $2, recipient = $3, channel = $4, at = $5,
           provider_ref = $6, status = $7, status_at = $8, has_text = $9, record = $10",
        &[
            &(rec.id as i64),
            &clean(&rec.key),
            &clean(&rec.to.to_string()),
            &rec.to.channel.as_str(),
            &rec.at,
            &clean_opt(rec.provider_ref.as_deref()),
            &status,
            &rec.status_at,
            &rec.msg.is_some(),
            &Json(rec),
        ],
    )?;
    Ok(())
}

/// Registers each provider id of a delivery record, so status callbacks find it.
pub(super) fn write_refs(c: &Conn, rec: &SentRecord) -> Result<(), tokio_postgres::Error> {
    for r in rec.refs() {
        c.execute(
            "INSERT INTO sent_refs (channel, provider_ref, id) VALUES ($1, $2, $3)
             ON CONFLICT (channel, provider_ref) DO UPDATE SET id = $3",
            &[&rec.to.channel.as_str(), &clean(r), &(rec.id as i64)],
        )?;
    }
    Ok(())
}

/// Writes the record of a row given up on.
pub(super) fn write_failed(c: &Conn, rec: &FailedRecord) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO outbox_failed (id, recipient, channel, failed_at, reason, record)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET recipient = $2, channel = $3, failed_at = $4, reason = $5, record = $6",
        &[
            &(rec.row.id as i64),
            &clean(&rec.row.msg.to.to_string()),
            &rec.row.msg.to.channel.as_str(),
            &rec.at,
            &clean(&rec.reason),
            &Json(rec),
        ],
    )?;
    Ok(())
}

/// Writes a timer.
pub(super) fn write_timer(c: &Conn, t: &Timer) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO timers (due, id, owner, kind, record) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (due, id) DO UPDATE SET owner = $3, kind = $4, record = $5",
        &[
            &t.due,
            &clean(&t.id),
            &clean(&t.owner),
            &reminder_kind(&t.what),
            &Json(t),
        ],
    )?;
    Ok(())
}

/// Removes one timer.
pub(super) fn delete_timer(c: &Conn, t: &Timer) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "DELETE FROM timers WHERE due = $1 AND id = $2",
        &[&t.due, &clean(&t.id)],
    )?;
    Ok(())
}

/// Writes a case's row (not its history rows).
pub(super) fn write_case_row(
    c: &Conn,
    case: &Case,
    insert: bool,
) -> Result<(), tokio_postgres::Error> {
    let number = case_key(&case.number);
    let params: [Param<'_>; 21] = [
        &number,
        &case.number.service.prefix(),
        &case.number.year,
        &(case.number.seq as i64),
        &clean(&case.guest_id),
        &clean(&case.origin.to_string()),
        &case.origin.channel.as_str(),
        &clean(&case.lang),
        &clean(&case.title),
        &clean(&case.workflow),
        &clean(&case.stage),
        &case.stage_since,
        &case.stage_due,
        &case.overall_start,
        &case.overall_due,
        &case.assignee,
        &case.open,
        &case.confidential,
        &case.created_at,
        &(case.version as i64),
        &Json(case),
    ];
    if insert {
        c.execute(
            "INSERT INTO cases (number, service, year, seq, guest_id, origin, channel, lang, title,
               workflow, stage, stage_since, stage_due, overall_start, overall_due, assignee, open,
               confidential, created_at, version, record)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
            &params,
        )?;
    } else {
        c.execute(
            "UPDATE cases SET service = $2, year = $3, seq = $4, guest_id = $5, origin = $6,
               channel = $7, lang = $8, title = $9, workflow = $10, stage = $11, stage_since = $12,
               stage_due = $13, overall_start = $14, overall_due = $15, assignee = $16, open = $17,
               confidential = $18, created_at = $19, version = $20, record = $21
             WHERE number = $1",
            &params,
        )?;
    }
    Ok(())
}

/// Writes a case's history rows from position `from` on (the earlier ones are as stored).
pub(super) fn write_events(
    c: &Conn,
    case: &Case,
    from: usize,
) -> Result<(), tokio_postgres::Error> {
    let number = case_key(&case.number);
    c.execute(
        "DELETE FROM case_events WHERE case_number = $1 AND n >= $2",
        &[&number, &(from as i32)],
    )?;
    for (n, e) in case.history.iter().enumerate().skip(from) {
        let (actor, officer) = actor_columns(&e.actor);
        c.execute(
            "INSERT INTO case_events (case_number, n, at, actor, officer, kind, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &number,
                &(n as i32),
                &e.at,
                &actor,
                &clean_opt(officer),
                &clean(&e.kind),
                &clean_opt(e.note.as_deref()),
            ],
        )?;
    }
    Ok(())
}

/// Stores a new case and its history rows.
pub(super) fn insert_case(c: &Conn, case: &Case) -> Result<(), tokio_postgres::Error> {
    write_case_row(c, case, true)?;
    write_events(c, case, 0)
}

/// Writes a guest (its consent text kept once in `consent_texts`) and links `who` to it.
pub(super) fn write_guest(
    c: &Conn,
    who: Option<&Identity>,
    g: &Guest,
) -> Result<(), tokio_postgres::Error> {
    let hash = (!g.consent_text.is_empty()).then(|| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(g.consent_text.as_bytes()))
    });
    if let Some(h) = &hash {
        c.execute(
            "INSERT INTO consent_texts (hash, text) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[h, &clean(&g.consent_text)],
        )?;
    }
    let stored = Guest {
        consent_text: String::new(),
        ..g.clone()
    };
    c.execute(
        "INSERT INTO guests (id, name, email, phone, lang, consent_version, consent_hash, consent_at,
           created_at, updated_at, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET name = $2, email = $3, phone = $4, lang = $5,
           consent_version = $6, consent_hash = $7, consent_at = $8, created_at = $9,
           updated_at = $10, record = $11",
        &[
            &clean(&g.id),
            &clean_opt(g.name()),
            &clean_opt(g.email()),
            &clean_opt(guest_phone(g)),
            &clean(&g.lang),
            &clean(&g.consent_version),
            &hash,
            &g.consent_at,
            &g.created_at,
            &g.updated_at,
            &Json(&stored),
        ],
    )?;
    if let Some(who) = who {
        c.execute(
            "INSERT INTO guest_identities (identity, guest_id) VALUES ($1, $2)
             ON CONFLICT (identity) DO UPDATE SET guest_id = $2",
            &[&clean(&who.to_string()), &clean(&g.id)],
        )?;
    }
    Ok(())
}

/// A guest row with its consent text in place (`text` is the joined `consent_texts.text`).
pub(super) fn guest_from(row: &tokio_postgres::Row) -> crate::store::Result<Guest> {
    let mut g: Guest = record(row, "record", &|| "guests".into())?;
    if let Some(text) = row.get::<_, Option<String>>("text") {
        g.consent_text = text;
    }
    Ok(g)
}

/// Adds (or rewrites) a visit under its time and ref.
pub(super) fn write_visit(c: &Conn, v: &Visit, r: &str) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO visits (at, ref, guest_id, channel, service, purpose, name, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (at, ref) DO UPDATE SET guest_id = $3, channel = $4, service = $5,
           purpose = $6, name = $7, record = $8",
        &[
            &v.at,
            &r,
            &clean(&v.guest_id),
            &v.channel.as_str(),
            &clean_opt(v.service.as_deref()),
            &clean_opt(v.purpose.as_deref()),
            &clean_opt(v.name.as_deref()),
            &Json(v),
        ],
    )?;
    Ok(())
}

/// Adds (or rewrites) a rating under its time and ref.
pub(super) fn write_rating(c: &Conn, rt: &Rating, r: &str) -> Result<(), tokio_postgres::Error> {
    let skm: Option<Vec<i16>> = rt.skm.map(|s| s.iter().map(|&x| i16::from(x)).collect());
    c.execute(
        "INSERT INTO ratings (at, ref, guest_id, case_number, score, comment, skm, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (at, ref) DO UPDATE SET guest_id = $3, case_number = $4, score = $5,
           comment = $6, skm = $7, record = $8",
        &[
            &rt.at,
            &r,
            &clean_opt(rt.guest_id.as_deref()),
            &rt.case.as_ref().map(case_key),
            &i16::from(rt.score),
            &clean_opt(rt.comment.as_deref()),
            &skm,
            &Json(rt),
        ],
    )?;
    Ok(())
}

/// Adds (or rewrites) a booked visit.
pub(super) fn write_appointment(c: &Conn, a: &Appointment) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO appointments (at, guest_id, booked_at, topic, record) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (at, guest_id) DO UPDATE SET booked_at = $3, topic = $4, record = $5",
        &[&a.at, &clean(&a.guest_id), &a.booked_at, &clean(&a.topic), &Json(a)],
    )?;
    Ok(())
}

/// Adds an audit entry under its time and ref.
pub(super) fn write_audit(c: &Conn, a: &AuditEntry, r: &str) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO audit_log (at, ref, officer, action, subject, record) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (at, ref) DO UPDATE SET officer = $3, action = $4, subject = $5, record = $6",
        &[&a.at, &r, &clean(&a.officer), &clean(&a.action), &clean(&a.subject), &Json(a)],
    )?;
    Ok(())
}

/// The ref of an audit entry recorded by the commit `by` (the sled store salts its key alike).
pub(super) fn audit_ref(a: &AuditEntry, by: &DedupeKey) -> String {
    event_ref(&format!(
        "{}/{}/{}/{}",
        by.0, a.officer, a.action, a.subject
    ))
}

/// Writes the conversation of `who`.
pub(super) fn write_session(
    c: &Conn,
    who: &Identity,
    s: &Conversation,
) -> Result<(), tokio_postgres::Error> {
    let (dialog, step) = match &s.active {
        Some(a) => (Some(clean(&a.dialog)), Some(clean(&a.step))),
        None => (None, None),
    };
    c.execute(
        "INSERT INTO conversations (identity, channel, lang, dialog, step, last_seen, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (identity) DO UPDATE SET channel = $2, lang = $3, dialog = $4, step = $5,
           last_seen = $6, record = $7",
        &[
            &clean(&who.to_string()),
            &who.channel.as_str(),
            &clean(&s.lang),
            &dialog,
            &step,
            &s.last_seen,
            &Json(s),
        ],
    )?;
    Ok(())
}
