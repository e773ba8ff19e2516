//! Applying officer commands: every command checks the officer's role (and the workflow, for
//! stage changes) and is written to the case history in the same commit as its effect. A
//! refused command changes nothing but the dedupe mark.
//!
//! [`plan`] reads the officer's message and hands each command to its family in
//! [`super::commands`], which words its answers from `dialogs/officers.toml`.

use super::AdminCommand;
use super::commands::{assign, case_view, moves, queue, reply, report, send, visitor};
use crate::cases::{Actor, Case, CaseEvent, CaseNumber};
use crate::config::{OfficerConfig, Role};
use crate::message::{Identity, InboundBody, InboundMessage, OutboundMessage};
use crate::plan::{CaseEdits, Plan, PlanContext};
use crate::store::{Applied, Commit, DedupeKey, StoreError};

/// The officer's reply and what else goes out, built while planning.
pub(in crate::admin) struct Draft<'c, 'a> {
    pub ctx: &'c PlanContext<'a>,
    pub officer: &'c OfficerConfig,
    /// The officer's own chat: where answers to the command go.
    pub me: Identity,
    pub out: Vec<OutboundMessage>,
    pub edits: CaseEdits,
    pub commit: Commit,
}

impl Draft<'_, '_> {
    /// Answers the officer.
    pub fn say(&mut self, text: impl Into<String>) {
        self.out.push(OutboundMessage::text(self.me.clone(), text));
    }

    /// An officers' chat text (`dialogs/officers.toml`) with its placeholders filled.
    pub fn word(&self, key: &str, vars: &[(&str, String)]) -> String {
        self.ctx.officer_text(key, vars)
    }

    /// Posts to the officers' chat.
    pub fn post(&mut self, text: String) {
        self.out
            .push(OutboundMessage::text(Identity::officers(), text));
    }

    /// Tells the officer what they did (`answer`) and the officers' chat (`post`): once, by
    /// the post alone, when the officer wrote in the officers' chat (issue 20, item 4).
    pub fn announce(&mut self, answer: String, post: String) {
        if !self.ctx.officer_ids.in_officers_chat(&self.me) {
            self.say(answer);
        }
        self.post(post);
    }

    pub fn has_role(&self, roles: &[Role]) -> bool {
        self.officer.roles.iter().any(|r| roles.contains(r))
    }

    /// Tells the officer which roles a command is for.
    pub fn refuse_role(&mut self, roles: &[Role]) {
        let names: Vec<String> = roles
            .iter()
            .map(|r| format!("{r:?}").to_lowercase())
            .collect();
        let text = self.word("admin_role_refused", &[("roles", names.join(", "))]);
        self.say(text);
    }

    /// The case named by an officer, or a clear answer that it does not exist.
    pub fn case(&mut self, text: &str) -> Result<Option<Case>, StoreError> {
        let Some(n) = CaseNumber::parse(text) else {
            let answer = self.word("admin_not_a_case_number", &[("text", text.to_string())]);
            self.say(answer);
            return Ok(None);
        };
        match self.edits.get(self.ctx.store, &n)? {
            Some(c) => Ok(Some(c.clone())),
            None => {
                let answer = self.word("admin_case_not_found", &[("case", n.to_string())]);
                self.say(answer);
                Ok(None)
            }
        }
    }

    /// Writes what the officer did to the case's history.
    pub fn history(
        &mut self,
        n: &CaseNumber,
        kind: &str,
        note: Option<String>,
    ) -> Result<(), StoreError> {
        let id = self.officer.id.clone();
        let now = self.ctx.now;
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
        InboundBody::Attachment(a) => send::file(&mut d, &mut session, a)?,
        InboundBody::Text(line) => match AdminCommand::parse(line) {
            Ok(cmd) if repeated(&d, &cmd) => {}
            Ok(AdminCommand::Send { case }) => send::ask_for_file(&mut d, &mut session, &case)?,
            Ok(cmd) => command(&mut d, cmd)?,
            // Replying to a forwarded message (it names its case) answers that case.
            Err(e) => match msg.reply_to.as_deref().and_then(quoted_case) {
                Some(case) => command(
                    &mut d,
                    AdminCommand::Reply {
                        case,
                        text: vec![line.clone()],
                    },
                )?,
                None => {
                    let text = format!("{}\n{}", d.word(e.text_key(), &[]), help(&d));
                    d.say(text)
                }
            },
        },
        _ => {
            let text = help(&d);
            d.say(text)
        }
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
        render: Box::new(move |applied: &Applied| visitor::render_queue(&out, applied, minutes)),
    })
}

/// Whether `cmd` was already answered in the officers' chat the officer writes in, less than a
/// minute ago and to anyone, the same command with the same arguments: its answer is still on
/// screen there, and the group's 20 messages a minute are shared by everyone (issue 20, item 5).
/// A command sent twice (two officers, or a double press) is answered, and done, once.
/// Remembered by destination chat in [`crate::plan::recent`].
fn repeated(d: &Draft, cmd: &AdminCommand) -> bool {
    if !answered_once_a_minute(cmd) || !d.ctx.officer_ids.in_officers_chat(&d.me) {
        return false;
    }
    // An officer in a group chat is `CHAT/USER`: the chat is the part before the slash.
    let chat = d.me.address.split('/').next().unwrap_or_default();
    let chat = format!("{}:{chat}", d.me.channel.as_str());
    !d.ctx
        .recent_commands
        .answer(&chat, &format!("{cmd:?}"), &d.commit.dedupe, d.ctx.now)
}

/// Every command but those whose repeat means something new: `kirim` (a file follows it),
/// `tamu` (another walk-in visitor may have the same name) and `panggil` (the next in line).
fn answered_once_a_minute(cmd: &AdminCommand) -> bool {
    !matches!(
        cmd,
        AdminCommand::Send { .. } | AdminCommand::Visitor { .. } | AdminCommand::Call { .. }
    )
}

/// The case number a quoted bot message is about (posts to officers start with `[NUMBER]`).
fn quoted_case(quoted: &str) -> Option<String> {
    quoted
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ':' | ','))
        .find(|w| CaseNumber::parse(w).is_some())
        .map(str::to_string)
}

/// The command list in the officers' words.
fn help(d: &Draft) -> String {
    super::help(&|key: &str| d.word(key, &[]))
}

/// Hands a command to its family.
fn command(d: &mut Draft, cmd: AdminCommand) -> Result<(), StoreError> {
    match cmd {
        AdminCommand::Help => {
            let text = format!("{}, {}", d.officer.name, help(d));
            d.say(text)
        }
        AdminCommand::Queue => queue::open_cases(d)?,
        AdminCommand::Today => queue::today(d)?,
        AdminCommand::Show { case } => case_view::show(d, &case)?,
        AdminCommand::Audit { count } => case_view::audit(d, count)?,
        AdminCommand::Take { case } => assign::take(d, &case)?,
        AdminCommand::Assign { case, officer } => assign::assign(d, &case, &officer)?,
        AdminCommand::Reply { case, text } => reply::reply(d, &case, text.join(" "))?,
        AdminCommand::Move { case, step, note } => moves::move_by_step(d, &case, step, note)?,
        AdminCommand::Return { case, reason } => moves::send_back(d, &case, reason)?,
        AdminCommand::Escalate { case, note } => moves::escalate(d, &case, note)?,
        AdminCommand::Send { .. } => unreachable!("handled by plan(): it needs the session"),
        AdminCommand::Visitor { service, name } => visitor::register(d, &service, name)?,
        AdminCommand::Call { service } => visitor::call(d, &service),
        AdminCommand::Report { month } => report::monthly(d, month.as_deref())?,
    }
    Ok(())
}
