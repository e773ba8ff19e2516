//! An outbox row as a mail: subject with the case number, a plain-text and an HTML part (the
//! HTML escaped), numbered choices, the office signature, attachments, and ids that make a
//! case's mails one thread and a resent row the same mail.

use super::auth::TokenKey;
use super::{MailIdentity, message_id_for_row};
use crate::message::{OutboundMessage, clip, escape_html};
use crate::store::OutboxRow;
use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

/// `Auto-Submitted` (RFC 3834): tells autoresponders not to answer our mail.
#[derive(Debug, Clone, PartialEq)]
struct AutoSubmitted(String);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// A file to attach: name, MIME type, bytes.
pub struct File {
    pub filename: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// Why a row cannot become a mail (a permanent problem with the row).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

/// The subject: `[CASE] first line` for a case's notification, else the office's desk name.
pub fn subject(msg: &OutboundMessage, me: &MailIdentity) -> String {
    let first = msg
        .text
        .lines()
        .map(|l| l.replace('*', "").trim().to_string())
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    match msg.topic.as_ref().and_then(|t| t.case.as_deref()) {
        Some(case) => format!("[{case}] {}", clip(&first, 70)),
        None if msg.topic.is_some() => format!("PST {}: {}", me.office, clip(&first, 60)),
        None => format!("PST {}", me.office),
    }
}

/// The plain-text body: the message, its choices numbered, the footer and the signature.
pub fn plain_text(msg: &OutboundMessage, footer: Option<&str>, me: &MailIdentity) -> String {
    let mut s = msg.text.replace('*', "");
    if !msg.choices.is_empty() {
        s.push('\n');
        for (i, c) in msg.choices.iter().enumerate() {
            s.push_str(&format!("\n{}. {}", i + 1, c.label));
        }
    }
    if let Some(f) = footer {
        s.push_str("\n\n");
        s.push_str(f);
    }
    s.push_str("\n\n-- \n");
    s.push_str(&me.signature);
    s.push('\n');
    s
}

/// Escaped text with `*bold*` as `<b>` and line breaks as `<br>`.
fn html_text(s: &str) -> String {
    let mut out = String::new();
    for (i, line) in s.lines().enumerate() {
        if i > 0 {
            out.push_str("<br>\n");
        }
        let mut bold = false;
        let parts: Vec<&str> = line.split('*').collect();
        let pairs_ok = parts.len() % 2 == 1;
        for (j, part) in parts.iter().enumerate() {
            if j > 0 {
                if pairs_ok {
                    out.push_str(if bold { "</b>" } else { "<b>" });
                    bold = !bold;
                } else {
                    out.push('*');
                }
            }
            out.push_str(&escape_html(part));
        }
    }
    out
}

/// The HTML body: the same content as [`plain_text`].
pub fn html(msg: &OutboundMessage, footer: Option<&str>, me: &MailIdentity) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body style=\"font-family:sans-serif\">\n<p>",
    );
    s.push_str(&html_text(&msg.text));
    s.push_str("</p>\n");
    if !msg.choices.is_empty() {
        s.push_str("<ol>\n");
        for c in &msg.choices {
            s.push_str(&format!("<li>{}</li>\n", escape_html(&c.label)));
        }
        s.push_str("</ol>\n");
    }
    if let Some(f) = footer {
        s.push_str(&format!(
            "<p style=\"color:#555;font-size:small\">{}</p>\n",
            html_text(f)
        ));
    }
    s.push_str(&format!(
        "<p style=\"color:#555\">-- <br>\n{}</p>\n</body></html>\n",
        html_text(&me.signature.replace('*', ""))
    ));
    s
}

/// The mail as sent: `Date:` in the office's time zone (`Mon, 16 Mar 2026 10:00:00 +0700`
/// for WIB), as a mail program shows it (issue 20, item 10). lettre writes every date in UTC,
/// so its header line is replaced in the formatted mail.
pub fn with_local_date(
    mail: &Message,
    at: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
) -> Vec<u8> {
    let bytes = mail.formatted();
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    let date = format!("Date: {}\r\n", at.with_timezone(&tz).to_rfc2822());
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let mut start = 0;
    while start < end {
        let line_end = bytes[start..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(bytes.len(), |n| start + n + 2);
        if bytes[start..].starts_with(b"Date: ") {
            out.extend_from_slice(date.as_bytes());
        } else {
            out.extend_from_slice(&bytes[start..line_end]);
        }
        start = line_end;
    }
    out.extend_from_slice(&bytes[start.min(bytes.len())..]);
    out
}

/// Where a mail goes in its recipient's mail program: its subject (`None`: [`subject`]) and
/// its `References`, oldest first; `In-Reply-To` is the last of them (see [`super::thread`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Threading {
    pub subject: Option<String>,
    pub references: Vec<String>,
}

/// Builds the mail for `row` to `to`, with `files` attached, placed by `threading`.
pub fn build(
    row: &OutboxRow,
    to: &str,
    me: &MailIdentity,
    tokens: &TokenKey,
    footer: Option<&str>,
    files: Vec<File>,
    threading: Threading,
) -> Result<Message, RenderError> {
    let msg = &row.msg;
    let bad = |what: &str, e: &dyn std::fmt::Display| RenderError(format!("{what}: {e}"));
    let from = Mailbox::new(
        Some(me.from_name.clone()),
        me.from_address
            .parse()
            .map_err(|e| bad("from address", &e))?,
    );
    let recipient = to.trim().to_string();
    let to: Mailbox = to
        .trim()
        .parse::<lettre::Address>()
        .map(|a| Mailbox::new(None, a))
        .map_err(|e| bad("recipient address", &e))?;
    let case = msg.topic.as_ref().and_then(|t| t.case.as_deref());
    let domain = me.domain();
    let refs = threading.references;
    let mut b = Message::builder()
        .from(from)
        .to(to)
        .subject(threading.subject.unwrap_or_else(|| subject(msg, me)))
        .message_id(Some(message_id_for_row(
            &row.key, case, &recipient, tokens, domain,
        )))
        .date(row.created_at.into())
        .header(AutoSubmitted(
            if msg.topic.is_some() {
                "auto-generated"
            } else {
                "auto-replied"
            }
            .into(),
        ));
    if let Some(r) = &me.reply_to {
        b = b.reply_to(Mailbox::new(
            Some(me.from_name.clone()),
            r.parse().map_err(|e| bad("reply-to address", &e))?,
        ));
    }
    if !refs.is_empty() {
        b = b
            .in_reply_to(refs.last().cloned().unwrap_or_default())
            .references(refs.join(" "));
    }
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(plain_text(msg, footer, me)))
        .singlepart(SinglePart::html(html(msg, footer, me)));
    let body = if files.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for f in files {
            let ct = ContentType::parse(&f.mime)
                .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("valid"));
            mixed = mixed.singlepart(Attachment::new(f.filename).body(f.bytes, ct));
        }
        mixed
    };
    b.multipart(body).map_err(|e| bad("building the mail", &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Identity, Topic};

    fn me() -> MailIdentity {
        MailIdentity {
            from_address: "pst@bps.example".into(),
            from_name: "PST BPS".into(),
            reply_to: None,
            signature: "PST BPS Provinsi".into(),
            office: "BPS Provinsi".into(),
            tz: chrono_tz::Asia::Jakarta,
        }
    }

    #[test]
    fn html_is_escaped_and_bold_kept() {
        let m = OutboundMessage::text(
            Identity::new(crate::message::ChannelKind::Email, "a@b.c"),
            "Nomor *ADU-1* <script>&",
        );
        let h = html(&m, None, &me());
        assert!(h.contains("Nomor <b>ADU-1</b> &lt;script&gt;&amp;"), "{h}");
        assert!(!h.contains("<script>"));
    }

    #[test]
    fn a_long_chain_is_folded_and_read_back_whole() {
        let row = OutboxRow::new(
            1,
            "k#0".into(),
            chrono::Utc::now(),
            OutboundMessage::text(
                Identity::new(crate::message::ChannelKind::Email, "a@b.c"),
                "Halo",
            ),
        );
        let refs: Vec<String> = (0..super::super::thread::MAX_REFERENCES)
            .map(|i| format!("<pstbot.ADU-2026-000012.{i:024}.{i:020}@bps.example>"))
            .collect();
        let threading = Threading {
            subject: Some("Re: x".into()),
            references: refs.clone(),
        };
        let mail = build(
            &row,
            "a@b.c",
            &me(),
            &TokenKey::new([1; 32]),
            None,
            Vec::new(),
            threading,
        )
        .unwrap();
        let raw = with_local_date(&mail, row.created_at, me().tz);
        let head = String::from_utf8_lossy(&raw);
        assert!(head.lines().all(|l| l.len() <= 998), "{head}");
        let p = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let read: Vec<String> = p
            .references()
            .as_text_list()
            .unwrap()
            .iter()
            .map(|s| format!("<{s}>"))
            .collect();
        assert_eq!(read, refs);
        assert_eq!(
            p.in_reply_to().as_text(),
            refs.last().map(|r| &r[1..r.len() - 1])
        );
    }

    #[test]
    fn case_notifications_have_the_number_in_the_subject() {
        let m = OutboundMessage::text(
            Identity::new(crate::message::ChannelKind::Email, "a@b.c"),
            "Permohonan *ADU-2026-000012* masuk tahap baru\nDetail",
        )
        .about(Topic::case("case_update", "ADU-2026-000012", &[]));
        assert_eq!(
            subject(&m, &me()),
            "[ADU-2026-000012] Permohonan ADU-2026-000012 masuk tahap baru"
        );
    }
}
