//! Seeding: records the real runtime makes for one person, committed again for many.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use pstbot::cases::{Actor, Case, CaseEvent, CaseNumber};
use pstbot::config::Config;
use pstbot::dialogs::{Bot, Conversation};
use pstbot::guestbook::{Guest, Rating, Visit};
use pstbot::message::{ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage};
use pstbot::runtime::{FixedClock, Runtime, RuntimeParts};
use pstbot::store::memory::MemoryStore;
use pstbot::store::prelude::*;
use pstbot::store::records::case_owner;
use pstbot::store::sled::SledStore;
use pstbot::store::{
    Applied, Commit, Committed, DedupeKey, Followups, GuestUpdate, NewCase, OutboxRow, Reminder,
    SentRecord, Timer, TimerSet,
};
use std::collections::HashMap;
use std::sync::Arc;

/// What one person types: the guest book, a complaint, then a rating of it (the load
/// bench's script).
const SCRIPT: &[&str] = &[
    "halo",
    "3",
    "ya",
    "Budi Santoso",
    "budi.santoso@example.go.id",
    "0812-3456-7890",
    "1",
    "3",
    "4",
    "3",
    "Dinas Komunikasi dan Informatika Provinsi Bengkulu",
    "pemerintah daerah",
    "2",
    "kirim",
    "2",
    "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh.",
    "20/11/2026",
    "lewati",
    "tidak",
    "-",
    "kirim",
    "menu",
    "7",
    "1",
    "5",
    "Petugas ramah dan cepat",
    "tidak",
];
/// Commits per store transaction while seeding.
const BATCH: usize = 2_000;
/// The conversation of an open one is taken after this many messages (inside the complaint).
const OPEN_AFTER: usize = 16;

/// The records one real conversation left.
pub struct Template {
    pub bot: Arc<Bot>,
    guest: Guest,
    visit: Visit,
    case: Case,
    rating: Rating,
    /// The conversation when it was done, and in the middle of the complaint.
    done: Conversation,
    open: Conversation,
    /// The replies the bot queued, in order.
    replies: Vec<OutboundMessage>,
    /// The final state of a complaint (where seeded closed cases are).
    final_stage: String,
}

impl Template {
    /// Plays the script through `Runtime::handle` on a memory store.
    pub async fn record(config: &Config) -> anyhow::Result<Template> {
        let bot = Arc::new(Bot::load(config)?);
        let store = Arc::new(MemoryStore::new());
        let start = chrono_tz::Asia::Jakarta
            .from_local_datetime(
                &NaiveDate::from_ymd_opt(2026, 11, 23)
                    .and_then(|d| d.and_hms_opt(9, 0, 0))
                    .expect("date"),
            )
            .single()
            .expect("time")
            .with_timezone(&Utc);
        let clock = Arc::new(FixedClock::new(start));
        let rt = Runtime::new(RuntimeParts::new(
            bot.clone(),
            store.clone(),
            clock.clone(),
            config.officers.clone(),
            pstbot::channels::officers(config),
        ))?;
        let who = Identity::new(ChannelKind::Whatsapp, "6281100000001");
        let mut open = None;
        for (i, say) in SCRIPT.iter().enumerate() {
            clock.advance(Duration::seconds(20));
            let replies = rt
                .handle(InboundMessage {
                    id: format!("wamid.TEMPLATE{i:02}"),
                    from: who.clone(),
                    body: InboundBody::Text((*say).into()),
                    reply_to: None,
                    trust: pstbot::message::Trust::Proven,
                })
                .await?;
            if std::env::var_os("SCALE_VERBOSE").is_some() {
                eprintln!(
                    "> {say}\n{}",
                    replies
                        .iter()
                        .map(|r| r.text.as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
            if i + 1 == OPEN_AFTER {
                open = store.session(&who)?;
            }
        }
        let guest = store
            .guest_of(&who)?
            .ok_or_else(|| anyhow::anyhow!("no guest"))?;
        let case = store
            .cases_of_guest(&guest.id)?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("the script made no case"))?;
        let visit = store
            .visits()?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no visit"))?;
        let rating = store
            .ratings()?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no rating"))?;
        let done = store
            .session(&who)?
            .ok_or_else(|| anyhow::anyhow!("no session"))?;
        let open = open.ok_or_else(|| anyhow::anyhow!("no open session"))?;
        anyhow::ensure!(open.active.is_some(), "the open conversation has no dialog");
        let replies: Vec<OutboundMessage> = store
            .outbox_pending(None, 10_000)?
            .into_iter()
            .filter(|r| r.msg.to == who)
            .map(|r| r.msg)
            .collect();
        let final_stage = bot
            .workflows
            .get(&case.number.service)
            .and_then(|w| w.states.iter().find(|s| s.is_final))
            .map(|s| s.id.clone())
            .ok_or_else(|| anyhow::anyhow!("the complaint workflow has no final state"))?;
        eprintln!(
            "template: case {} ({} history events, {} form fields), {} replies",
            case.number,
            case.history.len(),
            case.form.len(),
            replies.len()
        );
        Ok(Template {
            bot,
            guest,
            visit,
            case,
            rating,
            done,
            open,
            replies,
            final_stage,
        })
    }
}

pub struct Plan {
    pub cases: usize,
    pub conversations: usize,
    pub now: DateTime<Utc>,
}

/// An open conversation: who, when they last wrote, their open case.
pub struct Open {
    who: Identity,
    last_seen: DateTime<Utc>,
    case: CaseNumber,
}

pub struct Seeded {
    pub commits: usize,
    open: Vec<Open>,
}

/// The `i`-th seeded person: WhatsApp and Telegram taking turns.
fn person(i: usize) -> Identity {
    if i.is_multiple_of(2) {
        Identity::new(
            ChannelKind::Whatsapp,
            format!("628{:010}", 2_000_000_000 + i),
        )
    } else {
        Identity::new(
            ChannelKind::Telegram,
            format!("{}", 5_000_000_000u64 + i as u64),
        )
    }
}

/// Follow-ups of a seeding commit: the case's real reminders (those due within the hour left
/// out: a store that lived through that time has fired them), and the queued replies.
struct SeedFollowups<'a> {
    bot: &'a Bot,
    now: DateTime<Utc>,
    /// Cases created before this are seeded closed.
    open_from: DateTime<Utc>,
    /// The replies each new case's conversation got.
    messages: HashMap<CaseNumber, Vec<OutboundMessage>>,
}

impl Followups for SeedFollowups<'_> {
    fn messages(&self, applied: &Applied) -> Vec<OutboundMessage> {
        applied
            .case
            .as_ref()
            .and_then(|n| self.messages.get(n))
            .cloned()
            .unwrap_or_default()
    }
    fn case_timers(&self, case: &Case) -> Vec<Timer> {
        // A closed case's first write (as a new case) is replaced by its closing one in the
        // same transaction: its timers would be dropped at once.
        if case.created_at < self.open_from {
            return Vec::new();
        }
        pstbot::reminders::case_timers(self.bot, case, self.now)
            .into_iter()
            .filter(|t| t.due > self.now + Duration::hours(1))
            .collect()
    }
}

/// Commits `plan.cases` persons with a case each; the newest `plan.conversations` are in the
/// middle of a dialog with their case open, their messages' dedupe marks and delivered
/// replies kept.
pub fn seed(t: &Template, store: &SledStore, plan: &Plan) -> anyhow::Result<Seeded> {
    let bot = t.bot.as_ref();
    let mut seqs: HashMap<(pstbot::cases::Service, i32), u64> = HashMap::new();
    let mut out = Seeded {
        commits: 0,
        open: Vec::with_capacity(plan.conversations),
    };
    let first_open = plan.cases - plan.conversations;
    let closed_span = Duration::days(700);
    let open_span = Duration::days(3);
    let started = std::time::Instant::now();
    let mut f = SeedFollowups {
        bot,
        now: plan.now,
        open_from: plan.now - Duration::days(3) - Duration::hours(1),
        messages: HashMap::new(),
    };
    let mut batch: Vec<Commit> = Vec::new();
    let mut expect: Vec<Option<CaseNumber>> = Vec::new();
    for i in 0..plan.cases {
        let who = person(i);
        let is_open = i >= first_open;
        let created = if is_open {
            plan.now
                - Duration::minutes(30)
                - open_span * ((plan.cases - i) as i32) / (plan.conversations.max(1) as i32)
        } else {
            plan.now
                - Duration::days(4)
                - closed_span * ((first_open - i) as i32) / (first_open.max(1) as i32)
        };
        let shift = created - t.case.created_at;
        let guest_id = Guest::id_for(&who);
        let year = bot.calendar.local(created).year();
        let seq = seqs.entry((t.case.number.service, year)).or_insert(0);
        *seq += 1;
        let number = CaseNumber {
            service: t.case.number.service,
            year,
            seq: *seq,
        };
        let mut case = t.case.clone();
        case.number = number.clone();
        case.guest_id = guest_id.clone();
        case.origin = who.clone();
        case.created_at += shift;
        case.stage_since += shift;
        case.stage_due = case.stage_due.map(|d| d + shift);
        case.overall_start = case.overall_start.map(|d| d + shift);
        case.overall_due = case.overall_due.map(|d| d + shift);
        for e in &mut case.history {
            e.at += shift;
        }
        let new = NewCase {
            service: case.number.service,
            workflow: case.workflow.clone(),
            stage: case.stage.clone(),
            stage_due: case.stage_due,
            overall_start: case.overall_start,
            overall_due: case.overall_due,
            year,
            title: case.title.clone(),
            lang: case.lang.clone(),
            form: case.form.clone(),
            attachments: case.attachments.clone(),
            confidential: case.confidential,
        };
        let mut session = if is_open {
            t.open.clone()
        } else {
            t.done.clone()
        };
        let last_seen = if is_open {
            plan.now - Duration::minutes(10)
        } else {
            created + Duration::minutes(10)
        };
        session.last_seen = Some(last_seen);
        let mut c = Commit::new(
            DedupeKey(format!("{}:seed{i}", who.channel.as_str())),
            created,
            who.clone(),
            session,
        );
        c.guest = Some(GuestUpdate {
            profile: t.guest.profile.clone(),
            consent_version: t.guest.consent_version.clone(),
            consent_text: t.guest.consent_text.clone(),
            lang: t.guest.lang.clone(),
        });
        c.new_case = Some(new);
        c.visit = Some(Visit {
            guest_id: guest_id.clone(),
            at: t.visit.at + shift,
            ..t.visit.clone()
        });
        if is_open {
            c.timers
                .push(pstbot::reminders::idle_timer(bot, &who, last_seen, true));
        } else {
            // Taken, answered and closed by an officer within days, then rated.
            let officer = Actor::Officer("petugas1".into());
            for (day, kind) in [(1, "taken"), (3, "answered"), (4, "closed")] {
                case.history.push(CaseEvent {
                    at: created + Duration::days(day),
                    actor: officer.clone(),
                    kind: kind.into(),
                    note: None,
                });
            }
            case.stage = t.final_stage.clone();
            case.stage_since = created + Duration::days(4);
            case.stage_due = None;
            case.assignee = Some("petugas1".into());
            case.open = false;
            c.rating = Some(Rating {
                guest_id: Some(guest_id.clone()),
                case: Some(number.clone()),
                at: created + Duration::days(4) + Duration::hours(1),
                ..t.rating.clone()
            });
        }
        case.version = 2;
        c.case_updates.push(case);
        if is_open {
            let replies: Vec<OutboundMessage> = t
                .replies
                .iter()
                .take(OPEN_AFTER)
                .map(|m| OutboundMessage {
                    to: who.clone(),
                    ..m.clone()
                })
                .collect();
            f.messages.insert(number.clone(), replies);
        }
        batch.push(c);
        expect.push(Some(number.clone()));
        if is_open {
            // The conversation so far: its messages' dedupe marks (its replies are queued by
            // the case's commit and marked delivered below).
            for k in 1..OPEN_AFTER {
                let mut m = Commit::new(
                    DedupeKey(format!("{}:seed{i}m{k}", who.channel.as_str())),
                    last_seen,
                    who.clone(),
                    Conversation::default(),
                );
                m.session = None;
                batch.push(m);
                expect.push(None);
            }
            out.open.push(Open {
                who,
                last_seen,
                case: number,
            });
        }
        if batch.len() >= BATCH || i + 1 == plan.cases {
            let done = store.commit_batch(&batch, &f)?;
            let mut sent = Vec::new();
            for (k, r) in done.iter().enumerate() {
                let Committed::Applied(applied) = r else {
                    anyhow::bail!("a seed commit was a duplicate");
                };
                anyhow::ensure!(
                    applied.case == expect[k],
                    "case {:?} numbered, {:?} expected",
                    applied.case,
                    expect[k]
                );
                let Some(msgs) = applied.case.as_ref().and_then(|n| f.messages.get(n)) else {
                    continue;
                };
                for (q, (id, msg)) in applied.queued.iter().zip(msgs).enumerate() {
                    let at = batch[k].at;
                    let row = OutboxRow::new(
                        *id,
                        OutboxRow::key_for(&batch[k].dedupe.0, q),
                        at,
                        msg.clone(),
                    );
                    sent.push(SentRecord::delivered(
                        &row,
                        at,
                        Some(format!("wamid.SEED{id}")),
                    ));
                }
            }
            store.outbox_sent_all(&sent)?;
            out.commits += done.len() + sent.len();
            batch.clear();
            expect.clear();
            f.messages.clear();
        }
        if (i + 1) % 100_000 == 0 {
            eprintln!(
                "  {} cases seeded, {:.0} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(out)
}

/// Case reminders are left out: a case written when its reminder fires gets its reminders
/// recomputed, and those a real store fired before (the seeded one never did) come due too.
const IDLE_ONLY: bool = true;

/// Sets the timers of `n` open conversations due one second ago: idle conversations to close.
/// Returns the instant.
pub fn set_due(
    t: &Template,
    store: &dyn Store,
    s: &Seeded,
    n: usize,
) -> anyhow::Result<DateTime<Utc>> {
    set_due_from(t, store, s, 0, n)
}

/// [`set_due`] for the open conversations `from..from + n`.
pub fn set_due_from(
    _t: &Template,
    store: &dyn Store,
    s: &Seeded,
    from: usize,
    n: usize,
) -> anyhow::Result<DateTime<Utc>> {
    let due = Utc::now() - Duration::seconds(1);
    anyhow::ensure!(from + n <= s.open.len(), "not enough open conversations");
    for (k, o) in s.open[from..from + n].iter().enumerate() {
        let set = if k.is_multiple_of(2) || IDLE_ONLY {
            let mut set = TimerSet {
                owner: format!("idle:{}", o.who),
                timers: Vec::new(),
            };
            set.timers.push(Timer {
                id: format!("idle:{}/{}", o.who, o.last_seen.timestamp_millis()),
                owner: set.owner.clone(),
                due,
                what: Reminder::IdleClose {
                    who: o.who.clone(),
                    last_seen: o.last_seen,
                },
            });
            set
        } else {
            let case = store
                .case(&o.case)?
                .ok_or_else(|| anyhow::anyhow!("{} is missing", o.case))?;
            let owner = case_owner(&o.case);
            let mut timers = store.timers_of(&owner)?;
            timers.push(Timer {
                id: format!(
                    "{owner}/{}@{}/ack",
                    case.stage,
                    case.stage_since.timestamp_millis()
                ),
                owner: owner.clone(),
                due,
                what: Reminder::Unacknowledged {
                    case: o.case.clone(),
                },
            });
            TimerSet { owner, timers }
        };
        let mut c = Commit::new(
            DedupeKey(format!("bench:due{}", from + k)),
            due,
            Identity::new(ChannelKind::Desk, "bench"),
            Conversation::default(),
        );
        c.session = None;
        c.timers.push(set);
        store.commit(c)?;
    }
    Ok(due)
}
