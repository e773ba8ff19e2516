//! The channel-neutral message types: the only types channel adapters share with the runtime.
//!
//! An adapter turns its wire format into an [`InboundMessage`] and renders an
//! [`OutboundMessage`] in its own way (buttons, numbered text, …). Nothing here knows about
//! dialogs or cases.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The channels a person can reach pstbot by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Terminal,
    Web,
    Telegram,
    Whatsapp,
    Sms,
    Email,
    /// The officers' admin chat(s): each channel that has one (a Telegram group, listed
    /// WhatsApp numbers, the terminal) shows what is addressed here.
    Officers,
    /// The front desk: walk-in visitors registered by the receptionist.
    Desk,
}

impl ChannelKind {
    /// The variant of the texts written for this channel (`id-sms` beside `id` in the dialog
    /// files): SMS, where every part costs the person money, has shorter texts.
    pub fn text_variant(self) -> Option<&'static str> {
        match self {
            ChannelKind::Sms => Some("sms"),
            _ => None,
        }
    }

    /// Whether the channel shows a reply's choices as buttons (SMS, e-mail and the terminal
    /// show them as numbered lines of text instead).
    pub fn has_buttons(self) -> bool {
        matches!(
            self,
            ChannelKind::Web | ChannelKind::Telegram | ChannelKind::Whatsapp
        )
    }

    /// The short lowercase name used in keys, logs and config.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Terminal => "terminal",
            ChannelKind::Web => "web",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Whatsapp => "whatsapp",
            ChannelKind::Sms => "sms",
            ChannelKind::Email => "email",
            ChannelKind::Officers => "officers",
            ChannelKind::Desk => "desk",
        }
    }

    /// Parses the short name produced by [`ChannelKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "terminal" => ChannelKind::Terminal,
            "web" => ChannelKind::Web,
            "telegram" => ChannelKind::Telegram,
            "whatsapp" => ChannelKind::Whatsapp,
            "sms" => ChannelKind::Sms,
            "email" => ChannelKind::Email,
            "officers" => ChannelKind::Officers,
            "desk" => ChannelKind::Desk,
            _ => return None,
        })
    }
}

/// Who is talking, on which channel: a Telegram chat id, a phone number, an e-mail address,
/// a web session or a terminal user name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identity {
    pub channel: ChannelKind,
    pub address: String,
}

impl Identity {
    /// The officers' admin chat.
    pub fn officers() -> Self {
        Identity::new(ChannelKind::Officers, "admin")
    }

    pub fn new(channel: ChannelKind, address: impl Into<String>) -> Self {
        Identity {
            channel,
            address: address.into(),
        }
    }

    /// The phone number this identity carries, when the channel is phone-based
    /// (WhatsApp and SMS addresses are E.164 numbers).
    pub fn phone(&self) -> Option<&str> {
        match self.channel {
            ChannelKind::Whatsapp | ChannelKind::Sms => Some(&self.address),
            _ => None,
        }
    }

    /// The e-mail address this identity carries, for the e-mail channel.
    pub fn email(&self) -> Option<&str> {
        match self.channel {
            ChannelKind::Email => Some(&self.address),
            _ => None,
        }
    }

    /// The Telegram user id of the person, for a Telegram identity: the address is their
    /// private chat's id (which equals their user id), or `CHAT/USER` when they write in a
    /// group (an officer in the officers' group).
    pub fn telegram_user(&self) -> Option<&str> {
        match self.channel {
            ChannelKind::Telegram => self.address.rsplit('/').next(),
            _ => None,
        }
    }

    /// A form safe for logs: the channel and only the last three characters of the address.
    pub fn masked(&self) -> String {
        format!("{}:{}", self.channel.as_str(), mask(&self.address))
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.channel.as_str(), self.address)
    }
}

/// How long after a person's last message WhatsApp lets a business send free-form messages
/// (its customer-service window); after it only an approved template goes. Officers' answers
/// word what this means for a reply (`admin`), the WhatsApp channel enforces it.
pub const WHATSAPP_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The digits of a phone number in international form (`+62 812-3456-7890` → `6281234567890`),
/// or `None` when it is not one (8–15 digits, only spaces, dashes, dots and one leading `+`).
/// WhatsApp's `wa_id` is this form.
pub fn phone_digits(s: &str) -> Option<String> {
    let s = s.trim();
    let rest = s.strip_prefix('+').unwrap_or(s);
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.'))
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    ((8..=15).contains(&digits.len()) && !digits.starts_with('0')).then_some(digits)
}

/// Why a phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneError {
    NotANumber,
    NotMobile,
}

/// Normalises an Indonesian phone number to E.164 (`+628123456789`).
///
/// Accepts `0812-3456-7890`, `+62 812 3456 7890`, `62812…`, `(0736) 21234`. Mobile numbers start
/// with 8 after the country code and have 9–12 digits; land lines have an area code (2–7) and
/// 7–11 digits.
pub fn normalize_phone(s: &str, mobile_only: bool) -> Result<String, PhoneError> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+'))
        || s.chars().skip(1).any(|c| c == '+')
    {
        return Err(PhoneError::NotANumber);
    }
    // One reading of Indonesian numbers for the whole service: the understanding layer's
    // (the same rules as a phone typed in a chat), behind the strict form check above.
    match crate::understand::phone(s, mobile_only) {
        Ok(p) => Ok(p.e164),
        Err(crate::understand::PhoneProblem::NotMobile) => Err(PhoneError::NotMobile),
        Err(_) => Err(PhoneError::NotANumber),
    }
}

/// Masks personal data for logs: keeps the last three characters only.
pub fn mask(s: &str) -> String {
    let n = s.chars().count();
    if n <= 3 {
        return "***".into();
    }
    let tail: String = s.chars().skip(n - 3).collect();
    format!("***{tail}")
}

/// [`mask`] for text people read in a chat (officers' posts): `•••` instead of `***`, since a
/// `*` is the dialogs' bold markup and masked values next to it garble a post (issue 20,
/// item 7).
pub fn mask_shown(s: &str) -> String {
    mask(s).replacen("***", "•••", 1)
}

/// An e-mail address as officers' posts show it: its first letter and its domain
/// (`b•••@example.go.id`), enough to recognise it, no `*` markup.
pub fn mask_email_shown(address: &str) -> String {
    match address.trim().split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => mask_shown(address),
    }
}

/// An identity as officers' posts show it: the channel and the masked address.
pub fn identity_shown(who: &Identity) -> String {
    match who.channel {
        ChannelKind::Email => format!("e-mail {}", mask_email_shown(&who.address)),
        c => format!("{}:{}", c.as_str(), mask_shown(&who.address)),
    }
}

/// File types accepted where a step or an office does not say otherwise: documents, sheets
/// and photos (the dialogs' file steps and the web chat's uploads).
pub const DEFAULT_FILE_TYPES: [&str; 8] =
    ["pdf", "doc", "docx", "xls", "xlsx", "jpg", "jpeg", "png"];

/// A file a person sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// What a person sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InboundBody {
    /// Typed text.
    Text(String),
    /// A pressed button: the value of the chosen option.
    Choice(String),
    /// A document or photo.
    Attachment(Attachment),
    /// A shared contact card; `own` is true when the channel vouches it is the sender's own.
    Contact { phone: String, own: bool },
    /// An e-mail: its new text (quoted history and signature removed) and its attachments.
    /// Each non-empty line answers one question of the dialog (see the runtime), so a complaint
    /// can be filed in one mail.
    Mail {
        text: String,
        files: Vec<Attachment>,
        /// Its subject and `References`: an answer joins its thread (`Re: <subject>`).
        #[serde(default)]
        thread: MailThread,
    },
}

/// Where a mail stands in its thread, as its headers say: what an answer needs to join it
/// (RFC 5322 §3.6.4). Bounded by the e-mail channel when it reads the mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailThread {
    /// The subject, on one line.
    #[serde(default)]
    pub subject: String,
    /// The ids of its `References:` (or its `In-Reply-To:`), oldest first.
    #[serde(default)]
    pub references: Vec<String>,
}

/// The mail a message answers (the e-mail channel threads the answer under it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailParent {
    /// Its `Message-ID`, with the angle brackets.
    pub id: String,
    #[serde(flatten)]
    pub thread: MailThread,
}

/// A reference to a stored file (the bytes live in the store's blob area, by content hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// Hex SHA-256 of the content.
    pub blob: String,
    pub filename: String,
    pub mime: String,
    pub size: u64,
}

/// One message from a person, as every channel delivers it to the runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The provider's message id, unique within its channel (Telegram `update_id`, WhatsApp
    /// `wamid`, …); with the channel it recognises re-deliveries.
    pub id: String,
    pub from: Identity,
    pub body: InboundBody,
    /// When the person replied to (quoted) one of the bot's messages: that message's text.
    /// An officer's reply to a forwarded case message answers that case.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Whether the channel vouches for `from`. Providers do (the Bot API's user id, a signed
    /// webhook, a web session, the SMS gateway, the local terminal); an e-mail's `From:` is
    /// only a claim unless the receiving server or a reply token proves it.
    #[serde(default)]
    pub trust: Trust,
}

/// How far the channel vouches for who sent a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// The channel proved the sender.
    #[default]
    Proven,
    /// Only claimed (an e-mail's `From:` without proof): the message may start a new
    /// conversation, but never acts as an officer, on a case or on stored personal data.
    Claimed,
}

/// A choice offered with a message, rendered as a button or as a numbered line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundChoice {
    pub value: String,
    pub label: String,
}

/// One message to a person or an officer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub to: Identity,
    pub text: String,
    pub choices: Vec<OutboundChoice>,
    /// Files sent with the message (letters, products, billing codes), stored by content hash.
    #[serde(default)]
    pub files: Vec<AttachmentRef>,
    /// The message asks for a phone number: a channel that can share a contact (Telegram's
    /// share-contact button) offers it; others ignore this.
    #[serde(default)]
    pub ask_contact: bool,
    /// What the message is about, when it is a notification: lets a channel pick an approved
    /// template (WhatsApp outside its 24-hour window), a subject and a thread (e-mail).
    /// `None` for conversation replies.
    #[serde(default)]
    pub topic: Option<Topic>,
    /// The mail this message answers, when it answers one to the same address (set by the
    /// runtime on replies to a mail): the e-mail channel puts it in the same thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<MailParent>,
}

/// The kind of a notification and the values it carries, independent of its wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// A stable key: `case_received`, `case_update`, `officer_reply`, `officer_file`,
    /// `reminder_pending`, `reminder_rating`, `reminder_appointment`, `officer_reminder`.
    /// Params, after the case number when there is a case: `case_update` the new stage;
    /// `officer_reply` the text; `officer_file` the file name; `reminder_pending` the stage;
    /// `officer_reminder` the overdue day; `reminder_appointment` (no case) office, time, topic.
    pub kind: String,
    /// The case number (`ADU-2026-000012`) when the notification concerns a case.
    #[serde(default)]
    pub case: Option<String>,
    /// The notification's values in the order documented at [`Topic::kind`], for a
    /// template's placeholders.
    #[serde(default)]
    pub params: Vec<String>,
}

/// The notification kinds of [`Topic::kind`], each with how many params it carries.
pub const TOPIC_KINDS: &[(&str, usize)] = &[
    ("case_received", 1),
    ("case_update", 2),
    ("officer_reply", 2),
    ("officer_file", 2),
    ("reminder_pending", 2),
    ("reminder_rating", 1),
    ("reminder_appointment", 3),
    ("officer_reminder", 2),
];

impl Topic {
    /// How many params a notification of `kind` carries; `None` for an unknown kind.
    pub fn param_count(kind: &str) -> Option<usize> {
        TOPIC_KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, n)| *n)
    }

    /// A notification about case `case`; `params` start with the case number.
    pub fn case(kind: &str, case: impl ToString, more: &[String]) -> Self {
        let n = case.to_string();
        let mut params = vec![n.clone()];
        params.extend_from_slice(more);
        Topic {
            kind: kind.into(),
            case: Some(n),
            params,
        }
    }

    /// A notification that concerns no case (an appointment).
    pub fn plain(kind: &str, params: Vec<String>) -> Self {
        Topic {
            kind: kind.into(),
            case: None,
            params,
        }
    }
}

impl OutboundMessage {
    /// A plain text message.
    pub fn text(to: Identity, text: impl Into<String>) -> Self {
        OutboundMessage {
            to,
            text: text.into(),
            choices: Vec::new(),
            files: Vec::new(),
            ask_contact: false,
            topic: None,
            answers: None,
        }
    }

    /// The same message, marked as the notification `topic`.
    pub fn about(mut self, topic: Topic) -> Self {
        self.topic = Some(topic);
        self
    }
}

/// The first `max` characters of `s`, with `…` when cut (for previews and error texts).
pub fn clip(s: &str, max: usize) -> String {
    let mut it = s.chars();
    let head: String = it.by_ref().take(max).collect();
    if it.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// Escapes text for HTML anywhere, attribute values included (`&`, `<`, `>`, `"`, `'`): web
/// pages and e-mail bodies.
pub fn escape_html(s: &str) -> String {
    escape_with(s, true)
}

/// Escapes text for HTML element content only (`&`, `<`, `>`): what Telegram's HTML parse mode
/// treats as special.
pub fn escape_html_text(s: &str) -> String {
    escape_with(s, false)
}

fn escape_with(s: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_with_or_without_quotes() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            escape_html_text("<a href=\"x\">&'"),
            "&lt;a href=\"x\"&gt;&amp;'"
        );
    }

    #[test]
    fn masks_all_but_three_last_characters() {
        assert_eq!(mask("+6281234567890"), "***890");
        assert_eq!(mask("ab"), "***");
        let id = Identity::new(ChannelKind::Whatsapp, "+6281234567890");
        assert_eq!(id.masked(), "whatsapp:***890");
    }

    #[test]
    fn telegram_identities_name_their_user_in_private_and_in_groups() {
        let private = Identity::new(ChannelKind::Telegram, "4242");
        assert_eq!(private.telegram_user(), Some("4242"));
        let in_group = Identity::new(ChannelKind::Telegram, "-1001234567890/7001");
        assert_eq!(in_group.telegram_user(), Some("7001"));
        assert_eq!(
            Identity::new(ChannelKind::Sms, "+628").telegram_user(),
            None
        );
    }

    #[test]
    fn channel_names_round_trip() {
        for c in [
            ChannelKind::Terminal,
            ChannelKind::Web,
            ChannelKind::Telegram,
            ChannelKind::Whatsapp,
            ChannelKind::Sms,
            ChannelKind::Email,
            ChannelKind::Officers,
            ChannelKind::Desk,
        ] {
            assert_eq!(ChannelKind::parse(c.as_str()), Some(c));
        }
    }
}
