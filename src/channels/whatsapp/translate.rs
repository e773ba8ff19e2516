//! What a webhook post says (pure): its messages, as [`Incoming`] for the runtime, and its
//! delivery `statuses`. Shapes follow Meta's "Webhooks payload examples" for the Cloud API
//! (`object: whatsapp_business_account`, `entry[].changes[].value` with `metadata`,
//! `contacts`, `messages`, `statuses`). Fields pstbot does not use are ignored; a body that is
//! not such a payload is refused.

use crate::message::{ChannelKind, Identity, InboundBody};
use crate::store::DeliveryStatus;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The polite answer to a location, which pstbot never needs (a key of
/// `dialogs/system.toml`, worded by the webhook).
pub const LOCATION: &str = "whatsapp_location";

#[derive(Debug, Deserialize)]
struct Payload {
    object: String,
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
struct Value {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Debug, Deserialize)]
struct Message {
    from: String,
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    context: Option<Context>,
    #[serde(default)]
    text: Option<Text>,
    #[serde(default)]
    interactive: Option<Interactive>,
    #[serde(default)]
    button: Option<Button>,
    #[serde(default)]
    document: Option<Media>,
    #[serde(default)]
    image: Option<Media>,
    #[serde(default)]
    contacts: Vec<ContactCard>,
}

#[derive(Debug, Deserialize)]
struct Context {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Text {
    body: String,
}

#[derive(Debug, Deserialize)]
struct Interactive {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    button_reply: Option<Reply>,
    #[serde(default)]
    list_reply: Option<Reply>,
}

#[derive(Debug, Deserialize)]
struct Reply {
    id: String,
}

/// A template's quick-reply button.
#[derive(Debug, Deserialize)]
struct Button {
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
struct Media {
    id: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ContactCard {
    #[serde(default)]
    phones: Vec<ContactPhone>,
}

#[derive(Debug, Deserialize)]
struct ContactPhone {
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    wa_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    recipient_id: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Debug, Deserialize)]
struct StatusError {
    code: i64,
    #[serde(default)]
    title: String,
}

/// What one message is for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Ready to hand over.
    Ready(InboundBody),
    /// A document or photo to download first (media id ⇒ URL ⇒ bytes).
    Media {
        media_id: String,
        filename: String,
        mime: String,
    },
    /// Answer politely (through the outbox), nothing else: the key of the system text.
    Answer(&'static str),
    /// Nothing to do (a reaction).
    Ignore(&'static str),
}

/// One person's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The `wamid`.
    pub id: String,
    pub from: Identity,
    pub kind: Kind,
    /// The `wamid` of the message it replies to (quotes), if any.
    pub quoted: Option<String>,
}

/// A delivery report of a message pstbot sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub wamid: String,
    pub status: DeliveryStatus,
    pub recipient: String,
    pub at: Option<DateTime<Utc>>,
    /// The first error of a `failed` status: code and title.
    pub error: Option<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Message(Incoming),
    Status(StatusUpdate),
}

/// The identity of a WhatsApp number (`wa_id` digits ⇒ `+digits`).
pub fn identity(wa_id: &str) -> Option<Identity> {
    crate::message::phone_digits(wa_id)
        .map(|d| Identity::new(ChannelKind::Whatsapp, format!("+{d}")))
}

/// A file name for a photo, from its MIME type.
fn photo_name(id: &str, mime: &str) -> String {
    let ext = match mime {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    };
    let short: String = id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    format!("foto-{short}.{ext}")
}

fn translate_message(m: Message) -> Option<Incoming> {
    let from = identity(&m.from)?;
    let kind = match m.kind.as_str() {
        "text" => match m.text {
            Some(t) => Kind::Ready(InboundBody::Text(t.body)),
            None => Kind::Answer(UNSUPPORTED),
        },
        "interactive" => {
            let i = m.interactive;
            match i.as_ref().map(|i| i.kind.as_str()) {
                Some("button_reply") => match i.and_then(|i| i.button_reply) {
                    Some(r) => Kind::Ready(InboundBody::Choice(r.id)),
                    None => Kind::Answer(UNSUPPORTED),
                },
                Some("list_reply") => match i.and_then(|i| i.list_reply) {
                    Some(r) => Kind::Ready(InboundBody::Choice(r.id)),
                    None => Kind::Answer(UNSUPPORTED),
                },
                _ => Kind::Answer(UNSUPPORTED),
            }
        }
        // A template's quick-reply button: its text, as if typed.
        "button" => match m.button {
            Some(b) if !b.text.is_empty() => Kind::Ready(InboundBody::Text(b.text)),
            _ => Kind::Answer(UNSUPPORTED),
        },
        "document" => match m.document {
            Some(d) => {
                let mime = d
                    .mime_type
                    .unwrap_or_else(|| "application/octet-stream".into());
                Kind::Media {
                    filename: d.filename.unwrap_or_else(|| "dokumen".into()),
                    media_id: d.id,
                    mime,
                }
            }
            None => Kind::Answer(UNSUPPORTED),
        },
        "image" => match m.image {
            Some(d) => {
                let mime = d.mime_type.unwrap_or_else(|| "image/jpeg".into());
                Kind::Media {
                    filename: photo_name(&d.id, &mime),
                    media_id: d.id,
                    mime,
                }
            }
            None => Kind::Answer(UNSUPPORTED),
        },
        "contacts" => {
            let phone = m.contacts.iter().flat_map(|c| &c.phones).next();
            match phone {
                Some(p) => {
                    let own = p.wa_id.as_deref() == Some(m.from.as_str());
                    match p.phone.clone().or_else(|| p.wa_id.clone()) {
                        Some(number) => Kind::Ready(InboundBody::Contact { phone: number, own }),
                        None => Kind::Answer(UNSUPPORTED),
                    }
                }
                None => Kind::Answer(UNSUPPORTED),
            }
        }
        "location" => Kind::Answer(LOCATION),
        "reaction" => Kind::Ignore("a reaction"),
        _ => Kind::Answer(UNSUPPORTED),
    };
    Some(Incoming {
        id: m.id,
        from,
        kind,
        quoted: m.context.and_then(|c| c.id),
    })
}

/// The polite answer to a message kind pstbot cannot use (audio, video, sticker, …).
pub use crate::channels::UNSUPPORTED;

fn status_of(s: &str) -> Option<DeliveryStatus> {
    Some(match s {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        _ => return None,
    })
}

/// Reads a webhook body. Changes for another phone number id (another number on the same
/// app) are skipped, as are senders whose `from` is not a phone number.
pub fn parse(body: &[u8], phone_number_id: &str) -> Result<Vec<Event>, String> {
    let p: Payload =
        serde_json::from_slice(body).map_err(|e| format!("not a WhatsApp webhook payload: {e}"))?;
    if p.object != "whatsapp_business_account" {
        return Err(format!(
            "`object` is `{}`, expected `whatsapp_business_account`",
            p.object
        ));
    }
    let mut out = Vec::new();
    for change in p.entry.into_iter().flat_map(|e| e.changes) {
        if change.field != "messages" {
            continue;
        }
        let v = change.value;
        if v.metadata
            .as_ref()
            .is_some_and(|m| m.phone_number_id != phone_number_id)
        {
            continue;
        }
        for m in v.messages {
            if let Some(inc) = translate_message(m) {
                out.push(Event::Message(inc));
            }
        }
        for s in v.statuses {
            let Some(status) = status_of(&s.status) else {
                continue;
            };
            out.push(Event::Status(StatusUpdate {
                wamid: s.id,
                status,
                recipient: s.recipient_id,
                at: s
                    .timestamp
                    .and_then(|t| t.parse::<i64>().ok())
                    .and_then(|t| DateTime::from_timestamp(t, 0)),
                error: s.errors.into_iter().next().map(|e| (e.code, e.title)),
            }));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wrap(value: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": "102290129340398",
                "changes": [{
                    "value": value,
                    "field": "messages"
                }]
            }]
        }))
        .unwrap()
    }

    fn message(m: serde_json::Value) -> Vec<u8> {
        wrap(json!({
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "contacts": [{ "profile": { "name": "Budi" }, "wa_id": "6281234567890" }],
            "messages": [m]
        }))
    }

    fn one(body: &[u8]) -> Incoming {
        match parse(body, "106540352242922").unwrap().pop() {
            Some(Event::Message(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn text_buttons_and_lists_become_text_and_choices() {
        let m = one(&message(json!({
            "from": "6281234567890", "id": "wamid.A", "timestamp": "1749416383",
            "type": "text", "text": { "body": "halo" }
        })));
        assert_eq!(
            m.from,
            Identity::new(ChannelKind::Whatsapp, "+6281234567890")
        );
        assert_eq!(m.kind, Kind::Ready(InboundBody::Text("halo".into())));
        let m = one(&message(json!({
            "context": { "from": "15550783881", "id": "wamid.OURS" },
            "from": "6281234567890", "id": "wamid.B", "timestamp": "1749416383",
            "type": "interactive",
            "interactive": { "type": "button_reply", "button_reply": { "id": "ya", "title": "Ya" } }
        })));
        assert_eq!(m.kind, Kind::Ready(InboundBody::Choice("ya".into())));
        assert_eq!(m.quoted.as_deref(), Some("wamid.OURS"));
        let m = one(&message(json!({
            "from": "6281234567890", "id": "wamid.C", "timestamp": "1749416383",
            "type": "interactive",
            "interactive": { "type": "list_reply", "list_reply": { "id": "3", "title": "S1", "description": "" } }
        })));
        assert_eq!(m.kind, Kind::Ready(InboundBody::Choice("3".into())));
    }

    #[test]
    fn documents_and_photos_are_fetched_contacts_shared_locations_answered() {
        let m = one(&message(json!({
            "from": "6281234567890", "id": "wamid.D", "timestamp": "1749416383", "type": "document",
            "document": { "caption": "kuesioner", "filename": "kuesioner.pdf", "mime_type": "application/pdf", "sha256": "x", "id": "1003383421387256" }
        })));
        assert_eq!(
            m.kind,
            Kind::Media {
                media_id: "1003383421387256".into(),
                filename: "kuesioner.pdf".into(),
                mime: "application/pdf".into()
            }
        );
        let m = one(&message(json!({
            "from": "6281234567890", "id": "wamid.E", "timestamp": "1749416383", "type": "image",
            "image": { "mime_type": "image/jpeg", "sha256": "x", "id": "1479537139650973" }
        })));
        assert!(matches!(m.kind, Kind::Media { ref filename, .. } if filename.ends_with(".jpg")));
        let m = one(&message(json!({
            "from": "6281234567890", "id": "wamid.F", "timestamp": "1749416383", "type": "contacts",
            "contacts": [{ "name": { "formatted_name": "Budi" }, "phones": [{ "phone": "+62 812-3456-7890", "type": "CELL", "wa_id": "6281234567890" }] }]
        })));
        assert_eq!(
            m.kind,
            Kind::Ready(InboundBody::Contact {
                phone: "+62 812-3456-7890".into(),
                own: true
            })
        );
        let m = one(&message(json!({
            "from": "6281234567890", "id": "wamid.G", "timestamp": "1749416383", "type": "location",
            "location": { "latitude": -3.79, "longitude": 102.26 }
        })));
        assert_eq!(m.kind, Kind::Answer(LOCATION));
        let m = one(&message(json!({
            "from": "6281234567890", "id": "wamid.H", "timestamp": "1749416383", "type": "sticker",
            "sticker": { "mime_type": "image/webp", "id": "1", "animated": false }
        })));
        assert_eq!(m.kind, Kind::Answer(UNSUPPORTED));
    }

    #[test]
    fn statuses_are_read_with_their_errors() {
        let body = wrap(json!({
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "statuses": [
                { "id": "wamid.X", "status": "delivered", "timestamp": "1750263773", "recipient_id": "6281234567890" },
                { "id": "wamid.Y", "status": "failed", "timestamp": "1750263774", "recipient_id": "6281234567890",
                  "errors": [{ "code": 131047, "title": "Re-engagement message", "message": "Re-engagement message" }] }
            ]
        }));
        let ev = parse(&body, "106540352242922").unwrap();
        assert_eq!(ev.len(), 2);
        let Event::Status(s) = &ev[1] else { panic!() };
        assert_eq!(s.status, DeliveryStatus::Failed);
        assert_eq!(s.error, Some((131047, "Re-engagement message".into())));
        assert_eq!(s.at.unwrap().timestamp(), 1750263774);
    }

    #[test]
    fn other_numbers_and_other_payloads_are_not_ours() {
        let body = message(json!({
            "from": "6281234567890", "id": "wamid.A", "timestamp": "1", "type": "text", "text": { "body": "x" }
        }));
        assert!(parse(&body, "999").unwrap().is_empty());
        assert!(parse(b"{\"object\":\"page\",\"entry\":[]}", "1").is_err());
        assert!(parse(b"not json", "1").is_err());
    }
}
