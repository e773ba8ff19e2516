//! Every record of the PostgreSQL store out and in ([`Transfer`]), for `pstbot migrate` and
//! backups: read in one `REPEATABLE READ` snapshot (writers go on meanwhile), written in one
//! transaction (all or nothing), the sequences set above what was written.

use super::rows::{clean, record};
use super::scan::identity_from;
use super::writes::{
    insert_case, write_appointment, write_audit, write_failed, write_guest, write_rating,
    write_refs, write_row, write_sent, write_timer, write_visit,
};
use super::{Conn, Param, PgStore, wait};
use crate::cases::Service;
use crate::store::transfer::{Record, Transfer};
use crate::store::{Result, StoreError};
use futures_util::StreamExt;
use tokio_postgres::Row;
use tokio_postgres::types::Json;

/// Calls `f` with each row of a query as it arrives (tables may be larger than memory).
fn each(c: &Conn, sql: &str, f: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
    wait(async {
        let st = c.0.prepare_cached(sql).await?;
        let rows = c.0.query_raw(&st, std::iter::empty::<Param<'_>>()).await?;
        futures_util::pin_mut!(rows);
        while let Some(row) = rows.next().await {
            f(row?)?;
        }
        Ok(())
    })
}

/// The counter a `Record::Counter` names, as its table keys it.
enum CounterName {
    Case(String, i32),
    Queue(String, chrono::NaiveDate, bool),
}

fn counter_name(name: &str) -> Result<CounterName> {
    let bad = || StoreError::Engine(format!("unknown counter {name}"));
    let parts: Vec<&str> = name.split('/').collect();
    match parts[..] {
        [prefix, year] if Service::from_prefix(prefix).is_some() => Ok(CounterName::Case(
            prefix.to_string(),
            year.parse().map_err(|_| bad())?,
        )),
        ["Q", letter, day, which @ ("issued" | "called")] => Ok(CounterName::Queue(
            letter.to_string(),
            day.parse().map_err(|_| bad())?,
            which == "issued",
        )),
        _ => Err(bad()),
    }
}

impl PgStore {
    /// Exports on one connection inside a read-only snapshot.
    fn export_on(&self, c: &Conn, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        Self::export_people(c, sink)?;
        Self::export_cases(c, sink)?;
        Self::export_delivery(c, sink)
    }

    /// The store's secrets, the conversations, the dedupe marks and the guest book.
    fn export_people(c: &Conn, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        each(
            c,
            "SELECT name, secret FROM store_secrets ORDER BY name",
            &mut |r| {
                sink(Record::Secret {
                    name: r.get(0),
                    secret: hex::encode(r.get::<_, Vec<u8>>(1)),
                })
            },
        )?;
        each(
            c,
            "SELECT identity, record FROM conversations ORDER BY identity",
            &mut |r| {
                sink(Record::Session {
                    who: identity_from(r.get(0))?,
                    conversation: record(&r, "record", &|| "conversations".into())?,
                })
            },
        )?;
        each(
            c,
            "SELECT key, date_trunc('milliseconds', handled_at) FROM dedupe_marks ORDER BY key",
            &mut |r| {
                sink(Record::Mark {
                    key: r.get(0),
                    at: r.get(1),
                })
            },
        )?;
        each(
            c,
            "SELECT g.record, t.text FROM guests g LEFT JOIN consent_texts t ON t.hash = g.consent_hash ORDER BY g.id",
            &mut |r| {
                sink(Record::Guest {
                    guest: super::writes::guest_from(&r)?,
                })
            },
        )?;
        each(
            c,
            "SELECT identity, guest_id FROM guest_identities ORDER BY identity",
            &mut |r| {
                sink(Record::GuestLink {
                    who: identity_from(r.get(0))?,
                    guest_id: r.get(1),
                })
            },
        )?;
        Ok(())
    }

    /// Cases, counters, visits, ratings, appointments and files.
    fn export_cases(c: &Conn, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        each(c, "SELECT record FROM cases ORDER BY number", &mut |r| {
            sink(Record::Case {
                case: record(&r, "record", &|| "cases".into())?,
            })
        })?;
        each(
            c,
            "SELECT service, year, last FROM case_counters WHERE last > 0 ORDER BY 1, 2",
            &mut |r| {
                let value: i64 = r.get(2);
                sink(Record::Counter {
                    name: format!("{}/{}", r.get::<_, String>(0), r.get::<_, i32>(1)),
                    value: value as u64,
                })
            },
        )?;
        each(
            c,
            "SELECT letter, day, issued, called FROM queue_counters ORDER BY 1, 2",
            &mut |r| {
                let (letter, day): (String, chrono::NaiveDate) = (r.get(0), r.get(1));
                for (which, col) in [("issued", 2), ("called", 3)] {
                    let value: i64 = r.get(col);
                    if value > 0 {
                        sink(Record::Counter {
                            name: format!("Q/{letter}/{day}/{which}"),
                            value: value as u64,
                        })?;
                    }
                }
                Ok(())
            },
        )?;
        each(
            c,
            "SELECT ref, record FROM visits ORDER BY at, ref",
            &mut |r| {
                sink(Record::Visit {
                    reference: r.get(0),
                    visit: record(&r, "record", &|| "visits".into())?,
                })
            },
        )?;
        each(
            c,
            "SELECT ref, record FROM ratings ORDER BY at, ref",
            &mut |r| {
                sink(Record::Rating {
                    reference: r.get(0),
                    rating: record(&r, "record", &|| "ratings".into())?,
                })
            },
        )?;
        each(
            c,
            "SELECT record FROM appointments ORDER BY at, guest_id",
            &mut |r| {
                sink(Record::Appointment {
                    appointment: record(&r, "record", &|| "appointments".into())?,
                })
            },
        )?;
        each(c, "SELECT hash, bytes FROM files ORDER BY hash", &mut |r| {
            sink(Record::File {
                hash: r.get(0),
                bytes: hex::encode(r.get::<_, Vec<u8>>(1)),
            })
        })?;
        Ok(())
    }

    /// The outbox and its records, timers, the audit log and the web chat.
    fn export_delivery(c: &Conn, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        each(c, "SELECT record FROM outbox ORDER BY id", &mut |r| {
            sink(Record::Outbox {
                row: record(&r, "record", &|| "outbox".into())?,
            })
        })?;
        each(c, "SELECT record FROM outbox_sent ORDER BY id", &mut |r| {
            sink(Record::Sent {
                record: record(&r, "record", &|| "outbox_sent".into())?,
            })
        })?;
        each(
            c,
            "SELECT record FROM outbox_failed ORDER BY id",
            &mut |r| {
                sink(Record::Failed {
                    record: record(&r, "record", &|| "outbox_failed".into())?,
                })
            },
        )?;
        each(
            c,
            "SELECT address, date_trunc('milliseconds', since) FROM failing_addresses ORDER BY address",
            &mut |r| {
                sink(Record::Failing {
                    address: r.get(0),
                    since: r.get(1),
                })
            },
        )?;
        each(c, "SELECT record FROM timers ORDER BY due, id", &mut |r| {
            sink(Record::Timer {
                timer: record(&r, "record", &|| "timers".into())?,
            })
        })?;
        each(
            c,
            "SELECT ref, record FROM audit_log ORDER BY at, ref",
            &mut |r| {
                sink(Record::Audit {
                    reference: r.get(0),
                    entry: record(&r, "record", &|| "audit_log".into())?,
                })
            },
        )?;
        each(c, "SELECT record FROM web_sessions ORDER BY id", &mut |r| {
            sink(Record::WebSession {
                session: record(&r, "record", &|| "web_sessions".into())?,
            })
        })?;
        each(
            c,
            "SELECT session, seq, key, record FROM web_log ORDER BY session, seq",
            &mut |r| {
                let seq: i64 = r.get(1);
                sink(Record::WebLog {
                    session: r.get(0),
                    seq: seq as u64,
                    key: r.get(2),
                    entry: record(&r, "record", &|| "web_log".into())?,
                })
            },
        )
    }

    /// Writes one record inside the import's transaction.
    fn import_one(c: &Conn, r: Record) -> Result<()> {
        match r {
            Record::Secret { name, secret } => {
                let bytes = hex::decode(&secret)
                    .map_err(|e| StoreError::Engine(format!("secret {name}: {e}")))?;
                c.execute(
                    "INSERT INTO store_secrets (name, secret) VALUES ($1, $2)",
                    &[&clean(&name), &bytes],
                )?;
            }
            Record::Session { who, conversation } => {
                super::writes::write_session(c, &who, &conversation)?;
            }
            Record::Mark { key, at } => {
                c.execute(
                    "INSERT INTO dedupe_marks (key, handled_at) VALUES ($1, $2)",
                    &[&clean(&key), &at],
                )?;
            }
            Record::Guest { guest } => write_guest(c, None, &guest)?,
            Record::GuestLink { who, guest_id } => {
                c.execute(
                    "INSERT INTO guest_identities (identity, guest_id) VALUES ($1, $2)",
                    &[&clean(&who.to_string()), &clean(&guest_id)],
                )?;
            }
            Record::Case { case } => insert_case(c, &case)?,
            Record::Counter { name, value } => {
                let v = value as i64;
                match counter_name(&name)? {
                    CounterName::Case(service, year) => c.execute(
                        "INSERT INTO case_counters (service, year, last) VALUES ($1, $2, $3)",
                        &[&service, &year, &v],
                    )?,
                    CounterName::Queue(letter, day, issued) => c.execute(
                        if issued {
                            "INSERT INTO queue_counters (letter, day, issued) VALUES ($1, $2, $3)
                             ON CONFLICT (letter, day) DO UPDATE SET issued = $3"
                        } else {
                            "INSERT INTO queue_counters (letter, day, called) VALUES ($1, $2, $3)
                             ON CONFLICT (letter, day) DO UPDATE SET called = $3"
                        },
                        &[&letter, &day, &v],
                    )?,
                };
            }
            Record::Visit { reference, visit } => write_visit(c, &visit, &reference)?,
            Record::Rating { reference, rating } => write_rating(c, &rating, &reference)?,
            Record::Appointment { appointment } => write_appointment(c, &appointment)?,
            Record::File { hash, bytes } => {
                let bytes = hex::decode(&bytes)
                    .map_err(|e| StoreError::Engine(format!("file {hash}: {e}")))?;
                c.execute(
                    "INSERT INTO files (hash, size, bytes) VALUES ($1, $2, $3)",
                    &[&clean(&hash), &(bytes.len() as i64), &bytes],
                )?;
            }
            Record::Outbox { row } => write_row(c, &row)?,
            Record::Sent { record } => {
                write_sent(c, &record)?;
                write_refs(c, &record)?;
            }
            Record::Failed { record } => write_failed(c, &record)?,
            Record::Failing { address, since } => {
                c.execute(
                    "INSERT INTO failing_addresses (address, since) VALUES ($1, $2)",
                    &[&clean(&address), &since],
                )?;
            }
            Record::Timer { timer } => write_timer(c, &timer)?,
            Record::Audit { reference, entry } => write_audit(c, &entry, &reference)?,
            Record::WebSession { session } => {
                c.execute(
                    "INSERT INTO web_sessions (id, created_at, record) VALUES ($1, $2, $3)",
                    &[&clean(&session.id), &session.created_at, &Json(&session)],
                )?;
            }
            Record::WebLog {
                session,
                seq,
                key,
                entry,
            } => {
                let (session, seq) = (clean(&session), seq as i64);
                c.execute(
                    "INSERT INTO web_log (session, seq, key, at, visitor, record) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&session, &seq, &clean(&key), &entry.at, &entry.visitor, &Json(&entry)],
                )?;
                c.execute(
                    "INSERT INTO web_log_counters (session, last) VALUES ($1, $2)
                     ON CONFLICT (session) DO UPDATE SET last = greatest(web_log_counters.last, $2)",
                    &[&session, &seq],
                )?;
            }
        }
        Ok(())
    }
}

impl Transfer for PgStore {
    fn export(&self, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        let c = self.conn()?;
        c.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let r = self.export_on(&c, sink);
        let _ = c.batch("COMMIT");
        r
    }

    fn import(&self, records: &mut dyn Iterator<Item = Record>) -> Result<u64> {
        let c = self.conn()?;
        c.batch("BEGIN")?;
        let mut n = 0u64;
        let written = (|| -> Result<()> {
            for r in records {
                Self::import_one(&c, r)?;
                n += 1;
            }
            // New rows are numbered after every row imported (sent and failed ones too).
            c.execute(
                "SELECT setval('outbox_ids', greatest(1, (SELECT coalesce(max(id), 0) FROM
                   (SELECT id FROM outbox UNION ALL SELECT id FROM outbox_sent
                    UNION ALL SELECT id FROM outbox_failed) ids)))",
                &[],
            )?;
            Ok(())
        })();
        match written {
            Ok(()) => {
                c.batch("COMMIT")?;
                Ok(n)
            }
            Err(e) => {
                let _ = c.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn is_empty(&self) -> Result<bool> {
        let c = self.conn()?;
        let row = c.query_one(
            "SELECT NOT (EXISTS (SELECT 1 FROM cases) OR EXISTS (SELECT 1 FROM guests)
               OR EXISTS (SELECT 1 FROM conversations) OR EXISTS (SELECT 1 FROM dedupe_marks)
               OR EXISTS (SELECT 1 FROM outbox) OR EXISTS (SELECT 1 FROM outbox_sent)
               OR EXISTS (SELECT 1 FROM timers) OR EXISTS (SELECT 1 FROM web_log)
               OR EXISTS (SELECT 1 FROM store_secrets) OR EXISTS (SELECT 1 FROM visits))",
            &[],
        )?;
        Ok(row.get(0))
    }
}
