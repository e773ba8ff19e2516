//! The terminal channel (`pstbot chat`): one input line is one message; every bot message is
//! printed with its choices numbered. Interactive on a TTY; piped, it echoes each input line
//! (`> …`) so a transcript reads as a conversation.
//!
//! Lines starting with `/` that the terminal itself understands:
//! `/as NAME` (talk as another person, or as the officer whose terminal name is NAME),
//! `/file PATH` (send a file), `/contact PHONE` (share one's own contact), `/whoami`, `/quit`.

use crate::message::{
    Attachment, ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage,
};
use crate::runtime::Runtime;
use crate::text::Texts;
use std::io::Write;
use std::path::Path;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The terminal as a plug-in: it has no config section and does not run in `pstbot serve`
/// (`pstbot chat` runs it); it knows officers by their terminal name.
pub struct Plugin;

impl crate::channels::Channel for Plugin {
    fn section(&self) -> Option<&'static str> {
        None
    }

    fn load(
        &self,
        _config: &crate::config::Config,
    ) -> Result<Vec<String>, crate::config::ConfigError> {
        Ok(Vec::new())
    }

    fn start(
        &self,
        _config: &crate::config::Config,
        _cx: &crate::channels::Context,
    ) -> crate::Result<Option<crate::channels::Started>> {
        Ok(None)
    }

    fn officer_identity(&self, officer: &crate::config::OfficerConfig) -> Option<Identity> {
        officer
            .terminal
            .as_ref()
            .map(|t| Identity::new(ChannelKind::Terminal, t.clone()))
    }

    fn is_officer(&self, officer: &crate::config::OfficerConfig, who: &Identity) -> bool {
        who.channel == ChannelKind::Terminal
            && officer.terminal.as_deref() == Some(who.address.as_str())
    }
}

/// The MIME type of a file by its extension (the engine checks the extension it accepts).
pub fn mime_for(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xls") => "application/vnd.ms-excel",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Prints one bot message: its text, its files, then its choices numbered.
pub fn render(out: &mut impl Write, m: &OutboundMessage, words: &Texts) -> std::io::Result<()> {
    writeln!(out, "{}", m.text.replace('*', ""))?;
    for f in &m.files {
        let kb = f.size.div_ceil(1024).to_string();
        let line = words.officer("terminal_file", &[("name", f.filename.clone()), ("kb", kb)]);
        writeln!(out, "{line}")?;
    }
    for (i, c) in m.choices.iter().enumerate() {
        writeln!(out, "  {}. {}", i + 1, c.label)?;
    }
    writeln!(out)
}

/// Prints a message for someone else (a notification to an applicant, a post to the officers'
/// chat) under a header, so one terminal can play both sides of a case.
pub fn render_for(
    out: &mut impl Write,
    m: &OutboundMessage,
    me: &Identity,
    words: &Texts,
) -> std::io::Result<()> {
    if m.to != *me {
        let to = match m.to.channel {
            ChannelKind::Officers => words.officer("terminal_officers_chat", &[]),
            _ => m.to.to_string(),
        };
        writeln!(out, "{}", words.officer("terminal_to", &[("to", to)]))?;
    }
    render(out, m, words)
}

/// Whether the terminal shows (and so delivers) a queued message to `to` for the user `who`:
/// their own messages, and the officers' chat when they are an officer.
fn shows(rt: &Runtime, who: &Identity, to: &Identity) -> bool {
    to == who || (to.channel == ChannelKind::Officers && rt.officer(who).is_some())
}

/// Marks a message shown on the terminal as delivered.
fn delivered(rt: &Runtime, id: u64, to: &Identity) -> crate::Result<()> {
    rt.store.outbox_sent(crate::store::SentRecord {
        id,
        key: String::new(),
        to: to.clone(),
        at: rt.clock.now(),
        provider_ref: None,
        msg: None,
        status: None,
        status_at: None,
        thread: Vec::new(),
    })?;
    Ok(())
}

/// Prints what waits in the outbox for this terminal user (reminders and notifications queued
/// while they were away, e.g. by `pstbot serve` on the same store), and marks it delivered.
fn show_queued<W: Write>(rt: &Runtime, out: &mut W, who: &Identity) -> crate::Result<()> {
    let rows = rt.store.outbox_pending(None, 10_000)?;
    let mine: Vec<_> = rows
        .into_iter()
        .filter(|r| shows(rt, who, &r.msg.to))
        .collect();
    if mine.is_empty() {
        return Ok(());
    }
    let words = &rt.bot.texts;
    let count = mine.len().to_string();
    writeln!(
        out,
        "{}\n",
        words.officer("terminal_waiting", &[("count", count)])
    )?;
    for r in mine {
        render_for(out, &r.msg, who, words)?;
        delivered(rt, r.id, &r.msg.to)?;
    }
    Ok(())
}

/// Runs a terminal conversation until the input ends or `/quit`.
pub async fn run<R, W>(
    rt: &Runtime,
    input: R,
    out: &mut W,
    user: &str,
    interactive: bool,
) -> crate::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let run_id = format!(
        "{:x}",
        rt.clock.now().timestamp_nanos_opt().unwrap_or_default() ^ i64::from(std::process::id())
    );
    let mut who = Identity::new(ChannelKind::Terminal, user);
    let mut lines = input.lines();
    let mut seq = 0u64;
    let words = &rt.bot.texts;
    if interactive {
        let office = rt.bot.office_name.clone();
        writeln!(
            out,
            "{}\n",
            words.officer("terminal_banner", &[("office", office)])
        )?;
    }
    show_queued(rt, out, &who)?;
    loop {
        if interactive {
            write!(out, "» ")?;
            out.flush()?;
        }
        let Some(line) = lines.next_line().await? else {
            break;
        };
        if !interactive {
            writeln!(out, "> {line}")?;
        }
        let trimmed = line.trim();
        let body = if let Some(rest) = trimmed.strip_prefix("/as ") {
            let name = rest.trim();
            if name.is_empty() {
                writeln!(out, "{}\n", words.officer("terminal_usage_as", &[]))?;
                continue;
            }
            who = Identity::new(ChannelKind::Terminal, name);
            let role = match rt.officer(&who) {
                Some(o) => words.officer(
                    "terminal_role_officer",
                    &[
                        ("name", o.name.clone()),
                        ("roles", format!("{:?}", o.roles)),
                    ],
                ),
                None => words.officer("terminal_role_applicant", &[]),
            };
            let vars = [("name", name.to_string()), ("role", role)];
            writeln!(out, "{}\n", words.officer("terminal_now_as", &vars))?;
            show_queued(rt, out, &who)?;
            continue;
        } else if trimmed == "/whoami" {
            writeln!(out, "({})\n", who)?;
            continue;
        } else if trimmed == "/quit" || trimmed == "/exit" {
            break;
        } else if let Some(path) = trimmed.strip_prefix("/file ") {
            let path = Path::new(path.trim());
            match std::fs::read(path) {
                Ok(bytes) => InboundBody::Attachment(Attachment {
                    filename: path
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default(),
                    mime: mime_for(path).to_string(),
                    bytes,
                }),
                Err(e) => {
                    let vars = [
                        ("path", path.display().to_string()),
                        ("error", e.to_string()),
                    ];
                    writeln!(out, "{}\n", words.officer("terminal_cannot_read", &vars))?;
                    continue;
                }
            }
        } else if let Some(phone) = trimmed.strip_prefix("/contact ") {
            InboundBody::Contact {
                phone: phone.trim().to_string(),
                own: true,
            }
        } else {
            InboundBody::Text(line.clone())
        };
        seq += 1;
        let msg = InboundMessage {
            id: format!("{run_id}-{seq}"),
            from: who.clone(),
            body,
            reply_to: None,
            trust: crate::message::Trust::Proven,
        };
        for (id, reply) in rt.handle_queued(msg).await? {
            render_for(out, &reply, &who, words)?;
            // The terminal is where terminal users and (in `pstbot chat`) the officers' chat
            // read their messages: once shown, they are delivered. Messages for other channels
            // stay queued for `pstbot serve` to send.
            if matches!(
                reply.to.channel,
                ChannelKind::Terminal | ChannelKind::Officers
            ) {
                delivered(rt, id, &reply.to)?;
            }
        }
        out.flush()?;
    }
    Ok(())
}
