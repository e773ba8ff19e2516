//! Applying officer commands: every command checks the officer's role (and the workflow, for
//! stage changes) and is written to the case history in the same commit as its effect. A
//! refused command changes nothing but the dedupe mark.

use super::AdminCommand;
use crate::cases::Answer;
use crate::cases::workflow::{TransitionKind, Workflow};
use crate::cases::{Actor, Case, CaseEvent, CaseNumber, Service, flow};
use crate::config::{OfficerConfig, Role};
use crate::guestbook::Visit;
use crate::message::{ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage, Topic};
use crate::plan::notify;
use crate::plan::{CaseEdits, Plan, PlanContext, attachment_ref};
use crate::store::{Applied, AuditEntry, Commit, DedupeKey, QueueKey, StoreError};
use crate::text::fill;
use crate::text::pick;
use chrono::{DateTime, Duration, Utc};

const TAKE_ROLES: &[Role] = &[Role::Petugas, Role::Walidata, Role::Pimpinan];
const ASSIGN_ROLES: &[Role] = &[Role::Pimpinan, Role::Admin, Role::Resepsionis];
const REPLY_ROLES: &[Role] = &[Role::Petugas, Role::Walidata, Role::Pimpinan];
const SEND_ROLES: &[Role] = &[Role::Petugas, Role::Pimpinan];
const DESK_ROLES: &[Role] = &[Role::Resepsionis, Role::Petugas];
/// Who may read the audit log of access to personal data.
const AUDIT_ROLES: &[Role] = &[Role::Admin, Role::Pimpinan];
/// The monthly report shows the office's performance: for the head of office and the admin.
/// (The walidata belongs to the regional government, not to the office.)
const REPORT_ROLES: &[Role] = &[Role::Pimpinan, Role::Admin];

/// The officer's reply and what else goes out, built while planning.
struct Draft<'a> {
    ctx: &'a PlanContext<'a>,
    officer: &'a OfficerConfig,
    me: Identity,
    out: Vec<OutboundMessage>,
    edits: CaseEdits,
    commit: Commit,
}

impl Draft<'_> {
    fn say(&mut self, text: impl Into<String>) {
        self.out.push(OutboundMessage::text(self.me.clone(), text));
    }

    fn has_role(&self, roles: &[Role]) -> bool {
        self.officer.roles.iter().any(|r| roles.contains(r))
    }

    fn refuse_role(&mut self, roles: &[Role]) {
        let names: Vec<String> = roles
            .iter()
            .map(|r| format!("{r:?}").to_lowercase())
            .collect();
        self.say(format!(
            "Perintah ini untuk peran / this command is for: {}.",
            names.join(", ")
        ));
    }

    /// The case named by an officer, or a clear answer that it does not exist.
    fn case(&mut self, text: &str) -> Result<Option<Case>, StoreError> {
        let Some(n) = CaseNumber::parse(text) else {
            self.say(format!(
                "`{text}` bukan nomor kasus / is not a case number (contoh / e.g. ADU-2026-000012)."
            ));
            return Ok(None);
        };
        match self.edits.get(self.ctx.store, &n)? {
            Some(c) => Ok(Some(c.clone())),
            None => {
                self.say(format!("Kasus {n} tidak ditemukan / not found."));
                Ok(None)
            }
        }
    }

    fn history(
        &mut self,
        n: &CaseNumber,
        kind: &str,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let id = self.officer.id.clone();
        if let Some(c) = self.edits.get(self.ctx.store, n)? {
            c.history.push(CaseEvent {
                at: now,
                actor: Actor::Officer(id),
                kind: kind.into(),
                note,
            });
        }
        Ok(())
    }
}

/// Plans an officer's message: a command, or the file for a pending `kirim`.
pub fn plan(
    ctx: &PlanContext,
    officer: &OfficerConfig,
    msg: &InboundMessage,
    key: DedupeKey,
) -> Result<Plan, StoreError> {
    let now = ctx.now;
    let mut session = ctx.store.session(&msg.from)?.unwrap_or_default();
    session.last_seen = Some(now);
    let mut d = Draft {
        ctx,
        officer,
        me: msg.from.clone(),
        out: Vec::new(),
        edits: CaseEdits::new(),
        commit: Commit::new(key, now, msg.from.clone(), session.clone()),
    };
    match &msg.body {
        InboundBody::Attachment(a) => match session.pending_send.take() {
            Some(n) => send_file(&mut d, &n, a, now)?,
            None => d.say("Untuk mengirim berkas ke pemohon, ketik dulu: kirim NOMOR / to send a file, first type: send NUMBER"),
        },
        InboundBody::Text(line) => match AdminCommand::parse(line) {
            Ok(AdminCommand::Send { case }) => {
                if !d.has_role(SEND_ROLES) {
                    d.refuse_role(SEND_ROLES);
                } else if let Some(c) = d.case(&case)? {
                    if c.open {
                        session.pending_send = Some(c.number.clone());
                        d.say(format!("Silakan kirim berkasnya sekarang untuk {} / send the file now.", c.number));
                    } else {
                        d.say(format!("Kasus {} sudah ditutup / is closed.", c.number));
                    }
                }
            }
            Ok(cmd) => command(&mut d, cmd, now)?,
            // Replying to a forwarded message (it names its case) answers that case.
            Err(e) => match msg.reply_to.as_deref().and_then(quoted_case) {
                Some(case) => command(
                    &mut d,
                    AdminCommand::Reply {
                        case,
                        text: vec![line.clone()],
                    },
                    now,
                )?,
                None => d.say(e.0),
            },
        },
        _ => d.say(super::help()),
    }
    d.commit.session = Some(session);
    let Draft {
        mut commit,
        edits,
        out,
        ..
    } = d;
    edits.into_commit(&mut commit);
    let minutes = ctx.minutes_per_visitor;
    Ok(Plan {
        commit,
        render: Box::new(move |applied: &Applied| render_queue(&out, applied, minutes)),
    })
}

/// Fills the queue numbers the commit assigned into the replies.
fn render_queue(out: &[OutboundMessage], applied: &Applied, minutes: u32) -> Vec<OutboundMessage> {
    out.iter()
        .cloned()
        .map(|mut m| {
            if let Some(t) = applied.ticket {
                m.text = m
                    .text
                    .replace(TICKET, &format!("{:03}", t.number))
                    .replace(AHEAD, &t.ahead.to_string())
                    .replace(WAIT, &(t.ahead * u64::from(minutes)).to_string());
            }
            m.text = match applied.called {
                Some(n) => m.text.replace(CALLED, &format!("{n:03}")),
                None => m.text.replace(CALLED, "—"),
            };
            m
        })
        .collect()
}

/// The case number a quoted bot message is about (posts to officers start with `[NUMBER]`).
fn quoted_case(quoted: &str) -> Option<String> {
    quoted
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ':' | ','))
        .find(|w| CaseNumber::parse(w).is_some())
        .map(str::to_string)
}

const TICKET: &str = "\u{1}ticket\u{1}";
const AHEAD: &str = "\u{1}ahead\u{1}";
const WAIT: &str = "\u{1}wait\u{1}";
const CALLED: &str = "\u{1}called\u{1}";

fn queue_letter(service: &str) -> Option<(char, &'static str)> {
    Some(match service.to_lowercase().as_str() {
        "rek" | "rekomendasi" | "r" => ('R', "rekomendasi"),
        "prd" | "produk" | "p" => ('P', "produk"),
        "adu" | "pengaduan" | "a" => ('A', "pengaduan"),
        "umum" | "info" | "konsultasi" | "u" => ('U', "umum"),
        _ => return None,
    })
}

fn command(d: &mut Draft, cmd: AdminCommand, now: DateTime<Utc>) -> Result<(), StoreError> {
    let rt = d.ctx;
    let bot = &rt.bot;
    let lang = bot.default_lang().to_string();
    match cmd {
        AdminCommand::Help => d.say(format!("{}, {}", d.officer.name, super::help())),
        AdminCommand::Queue => {
            let mut cases = rt.store.open_cases()?;
            cases.sort_by_key(|c| (c.due().is_none(), c.due(), c.created_at));
            if cases.is_empty() {
                d.say("Tidak ada kasus terbuka / no open cases.");
            } else {
                let lines: Vec<String> = cases.iter().map(|c| queue_line(rt, c, now)).collect();
                d.say(format!(
                    "Kasus terbuka / open cases ({}):\n{}",
                    cases.len(),
                    lines.join("\n")
                ));
            }
        }
        AdminCommand::Show { case } => {
            if let Some(c) = d.case(&case)? {
                let text = show(rt, d.officer, &c, now)?;
                d.say(text);
                d.commit.audit.push(AuditEntry {
                    at: now,
                    officer: d.officer.id.clone(),
                    action: "lihat".into(),
                    subject: c.number.to_string(),
                });
            }
        }
        AdminCommand::Audit { count } => {
            if !d.has_role(AUDIT_ROLES) {
                d.refuse_role(AUDIT_ROLES);
            } else {
                let log = rt.store.audit_log()?;
                let n = count.unwrap_or(20).clamp(1, 200);
                let lines: Vec<String> = log
                    .iter()
                    .rev()
                    .take(n)
                    .map(|a| {
                        format!(
                            "{} {} {} {}",
                            rt.bot.calendar.format_local(a.at, "id"),
                            a.officer,
                            a.action,
                            a.subject
                        )
                    })
                    .collect();
                if lines.is_empty() {
                    d.say("Log audit kosong / the audit log is empty.");
                } else {
                    d.say(format!(
                        "Akses data pribadi, terbaru dulu / access to personal data, newest first:\n{}",
                        lines.join("\n")
                    ));
                }
            }
        }
        AdminCommand::Take { case } => {
            if !d.has_role(TAKE_ROLES) {
                d.refuse_role(TAKE_ROLES);
            } else if let Some(c) = d.case(&case)? {
                let id = d.officer.id.clone();
                if let Some(e) = d.edits.get(rt.store, &c.number)? {
                    e.assignee = Some(id.clone());
                }
                d.history(&c.number, "taken", None, now)?;
                d.say(format!(
                    "{} sekarang ditangani {} / now handled by {}.",
                    c.number, d.officer.name, d.officer.name
                ));
                d.out.push(OutboundMessage::text(
                    Identity::officers(),
                    format!("[{}] diambil oleh / taken by {}", c.number, d.officer.name),
                ));
            }
        }
        AdminCommand::Assign { case, officer } => {
            if !d.has_role(ASSIGN_ROLES) {
                d.refuse_role(ASSIGN_ROLES);
            } else if let Some(target) = rt.officers.iter().find(|o| o.id == officer) {
                let target = target.clone();
                if let Some(c) = d.case(&case)? {
                    if let Some(e) = d.edits.get(rt.store, &c.number)? {
                        e.assignee = Some(target.id.clone());
                    }
                    d.history(&c.number, "assigned", Some(target.id.clone()), now)?;
                    d.say(format!(
                        "{} ditugaskan ke / assigned to {}.",
                        c.number, target.name
                    ));
                    d.out.push(OutboundMessage::text(
                        Identity::officers(),
                        format!("[{}] ditugaskan ke / assigned to {}", c.number, target.name),
                    ));
                }
            } else {
                let ids: Vec<&str> = rt.officers.iter().map(|o| o.id.as_str()).collect();
                d.say(format!(
                    "Petugas `{officer}` tidak ada / no such officer. Ada / known: {}",
                    ids.join(", ")
                ));
            }
        }
        AdminCommand::Reply { case, text } => {
            if !d.has_role(REPLY_ROLES) {
                d.refuse_role(REPLY_ROLES);
            } else if let Some(c) = d.case(&case)? {
                let text = text.join(" ");
                d.history(&c.number, "officer_reply", Some(text.clone()), now)?;
                let msg = fill(
                    &bot.sys("officer_reply", &c.lang),
                    &[("case", c.number.to_string()), ("text", text.clone())],
                );
                d.out.push(
                    OutboundMessage::text(c.origin.clone(), msg).about(Topic::case(
                        "officer_reply",
                        &c.number,
                        &[text],
                    )),
                );
                d.say(format!(
                    "Balasan terkirim ke pemohon {} / reply sent.",
                    c.number
                ));
            }
        }
        AdminCommand::Move { case, step, note } => {
            if let Some(c) = d.case(&case)? {
                match step {
                    None => {
                        let wf = workflow(rt, &c);
                        d.say(next_steps(rt, wf, d.officer, &c));
                    }
                    Some(step) => transition(d, &c, flow::Find::Id(&step), join(note), now)?,
                }
            }
        }
        AdminCommand::Return { case, reason } => {
            by_kind(d, &case, TransitionKind::Return, join(reason), now)?
        }
        AdminCommand::Escalate { case, note } => {
            by_kind(d, &case, TransitionKind::Escalate, join(note), now)?
        }
        AdminCommand::Send { .. } => unreachable!("handled by plan(): it needs the session"),
        AdminCommand::Visitor { service, name } => {
            if !d.has_role(DESK_ROLES) {
                d.refuse_role(DESK_ROLES);
            } else if let Some((letter, service)) = queue_letter(&service) {
                let name = name.join(" ");
                let day = bot.calendar.local(now).date();
                d.commit.ticket = Some(QueueKey { letter, day });
                d.commit.visit = Some(Visit {
                    guest_id: format!(
                        "desk:{}",
                        crate::guestbook::Guest::id_for(&Identity::new(ChannelKind::Desk, &name))
                    ),
                    at: now,
                    channel: ChannelKind::Desk,
                    service: Some(service.to_string()),
                    purpose: None,
                    name: Some(name.clone()),
                });
                let closed = if bot.calendar.is_open_at(now) {
                    String::new()
                } else {
                    format!(
                        "\n(Di luar jam layanan / outside service hours: {})",
                        bot.calendar.hours_text(&lang)
                    )
                };
                d.say(format!(
                    "Nomor antrean / queue number {letter}-{TICKET} untuk / for {name}.\nMenunggu di depannya / waiting ahead: {AHEAD}; perkiraan / estimated wait: {WAIT} menit / minutes.{closed}"
                ));
            } else {
                d.say("Layanan: rek, prd, adu atau umum / service: rek, prd, adu or umum.");
            }
        }
        AdminCommand::Call { service } => {
            if !d.has_role(DESK_ROLES) {
                d.refuse_role(DESK_ROLES);
            } else if let Some((letter, _)) = queue_letter(&service) {
                let day = bot.calendar.local(now).date();
                d.commit.call_next = Some(QueueKey { letter, day });
                d.say(format!("Dipanggil / calling: {letter}-{CALLED}"));
            } else {
                d.say("Layanan: rek, prd, adu atau umum / service: rek, prd, adu or umum.");
            }
        }
        AdminCommand::Today => {
            let text = today(rt, now)?;
            d.say(text);
        }
        AdminCommand::Report { month } => {
            if !d.has_role(REPORT_ROLES) {
                d.refuse_role(REPORT_ROLES);
            } else {
                report(d, month.as_deref(), now)?;
            }
        }
    }
    Ok(())
}

/// Takes the transition of `kind` leaving the case's stage that the officer's role may take.
fn by_kind(
    d: &mut Draft,
    case: &str,
    kind: TransitionKind,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(c) = d.case(case)? else {
        return Ok(());
    };
    let roles = d.officer.roles.clone();
    let id = d.officer.id.clone();
    let who = flow::Who::Officer {
        id: &id,
        roles: &roles,
    };
    transition(d, &c, flow::Find::Kind(kind, &who), note, now)
}

fn join(words: Vec<String>) -> Option<String> {
    let s = words.join(" ");
    (!s.trim().is_empty()).then_some(s)
}

fn workflow<'a>(rt: &PlanContext<'a>, c: &Case) -> &'a Workflow {
    rt.bot
        .workflows
        .get(&c.number.service)
        .expect("every service has a workflow (checked at start-up)")
}

/// Takes a transition for the officer, with the checks of [`flow::apply`].
fn transition(
    d: &mut Draft,
    c: &Case,
    find: flow::Find,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let rt = d.ctx;
    let bot = &rt.bot;
    let wf = workflow(rt, c);
    let roles = d.officer.roles.clone();
    let who = flow::Who::Officer {
        id: &d.officer.id,
        roles: &roles,
    };
    let result = flow::find(wf, c, find).and_then(|t| {
        flow::apply(wf, &bot.calendar, c, t, &who, note.as_deref(), now).map(|next| (t, next))
    });
    match result {
        Ok((t, next)) => {
            if let Some(e) = d.edits.get(rt.store, &c.number)? {
                *e = next.clone();
            }
            if let Some(text) = notify::transition_text(bot, wf, &next, t, note.as_deref()) {
                d.out.push(
                    OutboundMessage::text(next.origin.clone(), text)
                        .about(notify::update_topic(bot, &next)),
                );
            }
            let line = notify::officers_line(bot, &next, t, &d.officer.name, note.as_deref());
            d.say(line.clone());
            d.out
                .push(OutboundMessage::text(Identity::officers(), line));
        }
        Err(e) => {
            let text = refusal(rt, wf, d.officer, c, e);
            d.say(text);
        }
    }
    Ok(())
}

fn refusal(
    rt: &PlanContext,
    wf: &Workflow,
    officer: &OfficerConfig,
    c: &Case,
    e: flow::FlowError,
) -> String {
    use flow::FlowError::*;
    let lang = rt.bot.default_lang();
    let stage = &rt.bot.stage_label(c.number.service, &c.stage, lang);
    let head = match e {
        Closed => format!("{} sudah ditutup / is closed.", c.number),
        UnknownTransition(t) => format!("Langkah `{t}` tidak ada / no such step."),
        NotFromHere { transition, .. } => format!(
            "Langkah `{transition}` tidak berlaku pada tahap / does not apply at stage: {stage}."
        ),
        NotAllowed { transition } => format!(
            "Peran Anda tidak boleh mengambil langkah / your role may not take `{transition}`."
        ),
        NoteRequired { transition } => {
            format!("Langkah `{transition}` perlu catatan/alasan / needs a note (the reason).")
        }
        NoneOfKind { .. } => {
            format!("Tidak ada langkah seperti itu pada tahap / no such step at stage: {stage}.")
        }
    };
    format!("{head}\n{}", next_steps(rt, wf, officer, c))
}

/// The steps that leave the case's stage, marking the ones this officer may take.
fn next_steps(rt: &PlanContext, wf: &Workflow, officer: &OfficerConfig, c: &Case) -> String {
    let lang = rt.bot.default_lang();
    if !c.open {
        return "Kasus sudah ditutup / the case is closed.".into();
    }
    let who = flow::Who::Officer {
        id: &officer.id,
        roles: &officer.roles,
    };
    let mut lines = vec![format!(
        "Langkah berikut / next steps ({}):",
        &rt.bot.stage_label(c.number.service, &c.stage, lang)
    )];
    for t in wf.from_state(&c.stage) {
        let allowed =
            flow::apply(wf, &rt.bot.calendar, c, t, &who, Some("x"), c.stage_since).is_ok();
        let roles: Vec<String> = t
            .actors
            .iter()
            .map(|a| match a {
                crate::cases::workflow::Actor::Applicant => "pemohon".to_string(),
                crate::cases::workflow::Actor::Officer(r) => format!("{r:?}").to_lowercase(),
            })
            .collect();
        lines.push(format!(
            "• {} — {} [{}]{}",
            t.id,
            pick(&t.label, lang, lang),
            roles.join(", "),
            if allowed { " ✓" } else { "" }
        ));
    }
    lines.push(format!(
        "Contoh / e.g.: pindah {} LANGKAH [catatan]",
        c.number
    ));
    lines.join("\n")
}

/// How long until (or since) a due instant, in the office's working terms.
fn time_left(rt: &PlanContext, due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let cal = &rt.bot.calendar;
    if due <= now {
        let late = cal.working_days_between(due, now);
        return if late == 0 {
            "TERLAMBAT / OVERDUE".into()
        } else {
            format!("TERLAMBAT {late} hari kerja / OVERDUE {late} working days")
        };
    }
    let days = cal.working_days_between(now, due);
    if days >= 1 {
        format!("sisa / left {days} hari kerja / working days")
    } else {
        let mins = cal
            .working_time_between(now, due, &[])
            .num_minutes()
            .max((due - now).num_minutes().min(0));
        format!("sisa / left {} jam:menit / h:min", format_hm(mins))
    }
}

fn format_hm(mins: i64) -> String {
    format!("{}:{:02}", mins / 60, mins % 60)
}

fn queue_line(rt: &PlanContext, c: &Case, now: DateTime<Utc>) -> String {
    let bot = &rt.bot;
    let lang = bot.default_lang();
    let stage = bot.stage_label(c.number.service, &c.stage, lang);
    let due = match c.due() {
        Some(d) => format!(
            "{} ({})",
            bot.calendar.format_local(d, lang),
            time_left(rt, d, now)
        ),
        None => "tanpa batas / no due date (menunggu pemohon / waiting on applicant)".into(),
    };
    let who = c
        .assignee
        .as_deref()
        .map(|a| format!(" · {a}"))
        .unwrap_or_default();
    format!(
        "• {} [{stage}] {}{who}\n  batas / due: {due}",
        c.number, c.title
    )
}

/// A case in full, for officers. A confidential complaint shows who filed it only to pimpinan.
fn show(
    rt: &PlanContext,
    officer: &OfficerConfig,
    c: &Case,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let bot = &rt.bot;
    let lang = bot.default_lang();
    let cal = &bot.calendar;
    let wf = workflow(rt, c);
    let mut text = format!(
        "{} — {}\nTahap / stage: {}{}\nMasuk / received: {} (kanal / channel {})\n",
        c.number,
        c.title,
        bot.stage_label(c.number.service, &c.stage, lang),
        if c.open { "" } else { " (ditutup / closed)" },
        cal.format_local(c.created_at, lang),
        c.origin.channel.as_str()
    );
    if let Some(d) = c.stage_due {
        text.push_str(&format!(
            "Batas tahap / stage due: {} ({})\n",
            cal.format_local(d, lang),
            time_left(rt, d, now)
        ));
    }
    if let Some(d) = c.overall_due {
        text.push_str(&format!(
            "Batas SOP / SOP due: {} ({})\n",
            cal.format_local(d, lang),
            time_left(rt, d, now)
        ));
    }
    if let Some(a) = &c.assignee {
        text.push_str(&format!("Petugas / officer: {a}\n"));
    }
    if !c.confidential || officer.roles.contains(&Role::Pimpinan) {
        let guest = rt.store.guest_of(&c.origin)?;
        let field = |k: &str| {
            guest
                .as_ref()
                .and_then(|g| g.profile.get(k))
                .and_then(Answer::as_text)
                .unwrap_or("-")
                .to_string()
        };
        text.push_str(&format!(
            "Pemohon / applicant: {} · {} · {}\n",
            field("name"),
            field("phone"),
            field("email")
        ));
    } else {
        text.push_str("Pemohon / applicant: (dirahasiakan / confidential)\n");
    }
    for f in &c.form {
        let step = bot
            .case_dialog(c.number.service)
            .and_then(|d| d.steps.iter().find(|s| s.field == f.field));
        let label = step
            .and_then(|s| s.label.as_ref())
            .map(|l| pick(l, lang, lang))
            .unwrap_or_else(|| f.label.clone());
        text.push_str(&format!(
            "• {label}: {}\n",
            crate::dialogs::render::display_answer(bot, step, &f.value, lang)
        ));
    }
    if !c.attachments.is_empty() {
        let files: Vec<&str> = c.attachments.iter().map(|a| a.filename.as_str()).collect();
        text.push_str(&format!("Berkas / files: {}\n", files.join(", ")));
    }
    text.push_str("Riwayat / history:\n");
    for e in &c.history {
        let who = match &e.actor {
            Actor::Applicant => "pemohon".to_string(),
            Actor::Officer(id) => id.clone(),
            Actor::System => "sistem".to_string(),
        };
        let note = e
            .note
            .as_ref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        text.push_str(&format!(
            "– {} {} ({who}){note}\n",
            cal.format_local(e.at, lang),
            e.kind
        ));
    }
    text.push_str(&next_steps(rt, wf, officer, c));
    Ok(text)
}

/// An officer's file for a case: it goes to the applicant, is kept with the case, and fires the
/// workflow's `send` step when one leaves the current stage.
fn send_file(
    d: &mut Draft,
    n: &CaseNumber,
    a: &crate::message::Attachment,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let rt = d.ctx;
    let bot = &rt.bot;
    if a.bytes.len() as u64 > bot.max_attachment_bytes {
        d.say(format!(
            "Berkas terlalu besar / file too large (maks. {} MB).",
            bot.max_attachment_bytes.div_ceil(1024 * 1024)
        ));
        return Ok(());
    }
    let Some(c) = d.case(&n.to_string())? else {
        return Ok(());
    };
    let wf = workflow(rt, &c);
    let roles = d.officer.roles.clone();
    let who = flow::Who::Officer {
        id: &d.officer.id,
        roles: &roles,
    };
    let (file, bytes) = attachment_ref(a);
    let moved = match flow::find(wf, &c, flow::Find::Kind(TransitionKind::Send, &who)) {
        Ok(t) => match flow::apply(wf, &bot.calendar, &c, t, &who, None, now) {
            Ok(next) => Some((t, next)),
            Err(e) => {
                let text = refusal(rt, wf, d.officer, &c, e);
                d.say(text);
                return Ok(());
            }
        },
        Err(flow::FlowError::NotAllowed { transition }) => {
            let text = refusal(
                rt,
                wf,
                d.officer,
                &c,
                flow::FlowError::NotAllowed { transition },
            );
            d.say(text);
            return Ok(());
        }
        Err(_) => None,
    };
    d.commit.blobs.push((file.blob.clone(), bytes));
    let mut to_applicant = OutboundMessage::text(
        c.origin.clone(),
        fill(
            &bot.sys("officer_file", &c.lang),
            &[
                ("case", c.number.to_string()),
                ("file", file.filename.clone()),
            ],
        ),
    );
    to_applicant.files.push(file.clone());
    to_applicant.topic = Some(Topic::case(
        "officer_file",
        &c.number,
        std::slice::from_ref(&file.filename),
    ));
    d.out.push(to_applicant);
    let case = d.edits.get(rt.store, n)?.expect("read above");
    if let Some((_, next)) = &moved {
        *case = next.clone();
    }
    case.attachments.push(file.clone());
    d.history(n, "officer_file", Some(file.filename.clone()), now)?;
    match moved {
        Some((t, next)) => {
            if let Some(text) = notify::transition_text(bot, wf, &next, t, None) {
                d.out.push(
                    OutboundMessage::text(next.origin.clone(), text)
                        .about(notify::update_topic(bot, &next)),
                );
            }
            let line = notify::officers_line(bot, &next, t, &d.officer.name, Some(&file.filename));
            d.say(line.clone());
            d.out
                .push(OutboundMessage::text(Identity::officers(), line));
        }
        None => d.say(format!(
            "Berkas {} terkirim ke pemohon {} / file sent.",
            file.filename, c.number
        )),
    }
    Ok(())
}

/// The monthly report for the officer who asked: the summary, with the XLSX workbook and the
/// chart as files (their bytes are kept as blobs in the same commit, like officers' files).
fn report(d: &mut Draft, month: Option<&str>, now: DateTime<Utc>) -> Result<(), StoreError> {
    use crate::reports::{Period, ReportError, monthly::MonthlyReport};
    let rt = d.ctx;
    let cal = &rt.bot.calendar;
    let period = match month {
        Some(m) => Period::month(cal, m),
        None => Period::current_month(cal, now),
    };
    let Ok(period) = period else {
        d.say("Tulis bulan sebagai TAHUN-BULAN / write the month as YYYY-MM, contoh / e.g.: laporan 2026-11");
        return Ok(());
    };
    if period.from > now {
        d.say(format!(
            "Bulan {} belum dimulai / has not started yet.",
            period.label()
        ));
        return Ok(());
    }
    let made = MonthlyReport::build(rt.store, rt.bot, period, now).and_then(|r| {
        let xlsx = r.xlsx()?;
        let png = r.chart()?;
        Ok((r, xlsx, png))
    });
    let (r, xlsx, png) = match made {
        Ok(x) => x,
        Err(ReportError::Store(e)) => return Err(e),
        Err(e) => {
            tracing::error!(error = %e, "monthly report failed");
            d.say("Maaf, laporan gagal dibuat / sorry, the report could not be made. Coba lagi / please try again.");
            return Ok(());
        }
    };
    let mut msg = OutboundMessage::text(d.me.clone(), r.summary_text());
    for (name, mime, bytes) in [
        (
            r.xlsx_name(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx,
        ),
        (r.chart_name(), "image/png", png),
    ] {
        let (file, bytes) = attachment_ref(&crate::message::Attachment {
            filename: name,
            mime: mime.into(),
            bytes,
        });
        d.commit.blobs.push((file.blob.clone(), bytes));
        msg.files.push(file);
    }
    d.out.push(msg);
    Ok(())
}

/// Today's numbers: new cases per service, open and overdue cases, visitors, queues.
fn today(rt: &PlanContext, now: DateTime<Utc>) -> Result<String, StoreError> {
    let cal = &rt.bot.calendar;
    let local = cal.local(now);
    let start = cal.to_utc(local.date().and_hms_opt(0, 0, 0).expect("midnight exists"));
    let new = rt
        .store
        .cases_created_between(start, start + Duration::days(1))?;
    let open = rt.store.open_cases()?;
    let overdue = open
        .iter()
        .filter(|c| c.due().is_some_and(|d| d < now))
        .count();
    let visits = rt
        .store
        .visits()?
        .into_iter()
        .filter(|v| v.at >= start && v.at < now + Duration::seconds(1))
        .count();
    let mut lines = vec![format!(
        "Hari ini / today, {}:",
        crate::cases::calendar::format_date(local.date(), "id", true)
    )];
    for s in Service::ALL {
        let n = new.iter().filter(|c| c.number.service == s).count();
        let o = open.iter().filter(|c| c.number.service == s).count();
        lines.push(format!(
            "• {}: baru / new {n}, terbuka / open {o}",
            s.prefix()
        ));
    }
    lines.push(format!("• Terlambat / overdue: {overdue}"));
    lines.push(format!("• Tamu / visitors: {visits}"));
    for letter in ['R', 'P', 'A', 'U'] {
        let (issued, called) = rt.store.queue_status(&QueueKey {
            letter,
            day: local.date(),
        })?;
        if issued > 0 {
            lines.push(format!(
                "• Antrean / queue {letter}: {issued} nomor, {called} dipanggil / called"
            ));
        }
    }
    Ok(lines.join("\n"))
}
