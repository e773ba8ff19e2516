//! From an [`OutboundMessage`] to Cloud API message objects (`POST /{phone-number-id}/messages`
//! bodies) — pure, so every shape is unit-tested.
//!
//! - no choices: text, split at 4096 characters;
//! - 1–3 choices: interactive **reply buttons** (title ≤ 20 characters, unique);
//! - 4–10 choices: an interactive **list** (row title ≤ 24, the full label in the row's
//!   description ≤ 72 when cut);
//! - more than 10: numbered lines in the text (the dialogs accept a choice's number);
//! - an interactive body holds at most 1024 characters: longer text goes first as text messages.
//!
//! The button and row ids are the choices' values, so a press comes back as
//! [`crate::message::InboundBody::Choice`] with that value.

use super::config::WhatsappTemplate;
use crate::message::{OutboundChoice, OutboundMessage, Topic};
use serde_json::{Value, json};

/// Cloud API limits (Messages reference: interactive object, text object).
pub const TEXT_MAX: usize = 4096;
pub const BODY_MAX: usize = 1024;
pub const BUTTON_TITLE_MAX: usize = 20;
pub const ROW_TITLE_MAX: usize = 24;
pub const ROW_DESCRIPTION_MAX: usize = 72;
pub const ID_MAX: usize = 200;
pub const MAX_BUTTONS: usize = 3;
pub const MAX_ROWS: usize = 10;

/// The words of an interactive list, said in every language (`whatsapp_list_button`,
/// `whatsapp_list_title` in `dialogs/system.toml`): the button that opens it (≤ 20
/// characters; also the body when a message has only choices) and its section's title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListWords {
    pub button: String,
    pub title: String,
}

impl ListWords {
    /// The words from the system texts.
    pub fn from_texts(texts: &crate::text::Texts) -> ListWords {
        let say = |key| crate::channels::in_every_language(texts, key, &[], " / ");
        ListWords {
            button: say("whatsapp_list_button"),
            title: say("whatsapp_list_title"),
        }
    }
}

/// A template parameter: no new lines or tabs, at most four spaces in a row; kept short.
const PARAM_MAX: usize = 900;

/// The first `max` characters of `s`, ending with `…` when cut (the `…` counts).
pub fn cut(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", head.trim_end())
}

/// Splits `text` into parts of at most `max` characters, at a line break or a space when one
/// is near the end of a part.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        let window = &rest[..max];
        let at = window
            .iter()
            .rposition(|c| *c == '\n')
            .filter(|i| *i > max / 2)
            .or_else(|| {
                window
                    .iter()
                    .rposition(|c| *c == ' ')
                    .filter(|i| *i > max / 2)
            })
            .map(|i| i + 1)
            .unwrap_or(max);
        let part: String = rest[..at].iter().collect();
        parts.push(part.trim_end().to_string());
        rest.drain(..at);
    }
    let last: String = rest.into_iter().collect();
    if !last.trim().is_empty() || parts.is_empty() {
        parts.push(last);
    }
    parts
}

fn envelope(to: &str, kind: &str, body: Value) -> Value {
    let mut v = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    });
    v[kind] = body;
    v
}

/// A plain text message.
pub fn text(to: &str, body: &str) -> Value {
    envelope(to, "text", json!({ "preview_url": false, "body": body }))
}

/// Reply-button titles: each cut to 20 characters; numbered when cutting made two equal.
fn button_titles(choices: &[OutboundChoice]) -> Vec<String> {
    let plain: Vec<String> = choices
        .iter()
        .map(|c| cut(&c.label, BUTTON_TITLE_MAX))
        .collect();
    let unique = plain
        .iter()
        .enumerate()
        .all(|(i, t)| !plain[..i].contains(t));
    if unique {
        return plain;
    }
    choices
        .iter()
        .enumerate()
        .map(|(i, c)| cut(&format!("{}. {}", i + 1, c.label), BUTTON_TITLE_MAX))
        .collect()
}

/// A choice's id on the wire: its value (cut to the limit; dialog values are short).
fn choice_id(c: &OutboundChoice) -> String {
    c.value.chars().take(ID_MAX).collect()
}

fn buttons(to: &str, body: &str, choices: &[OutboundChoice]) -> Value {
    let buttons: Vec<Value> = choices
        .iter()
        .zip(button_titles(choices))
        .map(|(c, title)| json!({ "type": "reply", "reply": { "id": choice_id(c), "title": title } }))
        .collect();
    envelope(
        to,
        "interactive",
        json!({
            "type": "button",
            "body": { "text": body },
            "action": { "buttons": buttons },
        }),
    )
}

fn list(to: &str, body: &str, choices: &[OutboundChoice], words: &ListWords) -> Value {
    let rows: Vec<Value> = choices
        .iter()
        .map(|c| {
            let title = cut(&c.label, ROW_TITLE_MAX);
            let mut row = json!({ "id": choice_id(c), "title": title });
            if c.label.trim().chars().count() > ROW_TITLE_MAX {
                row["description"] = json!(cut(&c.label, ROW_DESCRIPTION_MAX));
            }
            row
        })
        .collect();
    envelope(
        to,
        "interactive",
        json!({
            "type": "list",
            "body": { "text": body },
            "action": {
                "button": words.button,
                "sections": [ { "title": words.title, "rows": rows } ],
            },
        }),
    )
}

/// The message objects for `m`'s text and choices, in order (its files are sent after them,
/// see [`document`]). Empty when `m` has neither text nor choices.
pub fn messages(to: &str, m: &OutboundMessage, words: &ListWords) -> Vec<Value> {
    let n = m.choices.len();
    if n == 0 || n > MAX_ROWS {
        let mut body = m.text.clone();
        if n > MAX_ROWS {
            body.push('\n');
            for (i, c) in m.choices.iter().enumerate() {
                body.push_str(&format!("\n{}. {}", i + 1, c.label));
            }
        }
        if body.trim().is_empty() {
            return Vec::new();
        }
        return split(&body, TEXT_MAX).iter().map(|p| text(to, p)).collect();
    }
    // Interactive: the body is the last ≤ 1024 characters' part; what comes before goes as text.
    let mut parts = split(&m.text, TEXT_MAX);
    let last = parts.pop().unwrap_or_default();
    let mut tail = split(&last, BODY_MAX);
    let body = tail.pop().unwrap_or_default();
    parts.extend(tail);
    let body = if body.trim().is_empty() {
        words.button.clone()
    } else {
        body
    };
    let mut out: Vec<Value> = parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| text(to, p))
        .collect();
    out.push(if n <= MAX_BUTTONS {
        buttons(to, &body, &m.choices)
    } else {
        list(to, &body, &m.choices, words)
    });
    out
}

/// A document by the media id its upload returned.
pub fn document(to: &str, media_id: &str, filename: &str) -> Value {
    envelope(
        to,
        "document",
        json!({ "id": media_id, "filename": filename }),
    )
}

/// A template parameter as the Cloud API accepts it: one line, no runs of spaces, not empty.
fn param(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        "-".into()
    } else {
        cut(&one_line, PARAM_MAX)
    }
}

/// The approved template `t` filled with the notification's values.
pub fn template(to: &str, t: &WhatsappTemplate, topic: &Topic) -> Value {
    let picks: Vec<usize> = match &t.params {
        Some(p) => p.clone(),
        None => (1..=topic.params.len()).collect(),
    };
    let parameters: Vec<Value> = picks
        .iter()
        .map(|i| {
            let v = topic.params.get(i - 1).map(String::as_str).unwrap_or("");
            json!({ "type": "text", "text": param(v) })
        })
        .collect();
    let mut tpl = json!({
        "name": t.name,
        "language": { "code": t.language },
    });
    if !parameters.is_empty() {
        tpl["components"] = json!([{ "type": "body", "parameters": parameters }]);
    }
    envelope(to, "template", tpl)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list's words as the shipped texts say them.
    const LIST_BUTTON: &str = "Pilih / Choose";

    fn words() -> ListWords {
        ListWords {
            button: LIST_BUTTON.into(),
            title: "Pilihan / Options".into(),
        }
    }
    use crate::message::{ChannelKind, Identity};

    fn msg(text: &str, labels: &[&str]) -> OutboundMessage {
        let mut m = OutboundMessage::text(Identity::new(ChannelKind::Whatsapp, "+628"), text);
        m.choices = labels
            .iter()
            .enumerate()
            .map(|(i, l)| OutboundChoice {
                value: format!("v{}", i + 1),
                label: l.to_string(),
            })
            .collect();
        m
    }

    #[test]
    fn plain_text_is_one_text_message() {
        let v = messages("628123", &msg("Halo", &[]), &words());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0]["type"], "text");
        assert_eq!(v[0]["to"], "628123");
        assert_eq!(v[0]["messaging_product"], "whatsapp");
        assert_eq!(v[0]["text"]["body"], "Halo");
    }

    #[test]
    fn long_text_is_split_at_4096_on_a_line_break() {
        let line = "a".repeat(99);
        let text = vec![line.as_str(); 60].join("\n"); // 5999 characters
        let v = messages("628", &msg(&text, &[]), &words());
        assert_eq!(v.len(), 2);
        for p in &v {
            let body = p["text"]["body"].as_str().unwrap();
            assert!(body.chars().count() <= TEXT_MAX);
            assert!(!body.starts_with('\n') && !body.ends_with('\n'));
        }
        let joined: usize = v
            .iter()
            .map(|p| p["text"]["body"].as_str().unwrap().chars().count())
            .sum();
        assert_eq!(joined, 5999 - 1);
    }

    #[test]
    fn up_to_three_choices_are_reply_buttons_with_cut_unique_titles() {
        let v = messages("628", &msg("Setuju?", &["Ya", "Tidak"]), &words());
        assert_eq!(v.len(), 1);
        let i = &v[0]["interactive"];
        assert_eq!(i["type"], "button");
        assert_eq!(i["body"]["text"], "Setuju?");
        assert_eq!(i["action"]["buttons"][0]["reply"]["id"], "v1");
        assert_eq!(i["action"]["buttons"][1]["reply"]["title"], "Tidak");
        let v = messages(
            "628",
            &msg(
                "Pilih",
                &[
                    "Rekomendasi kegiatan statistik",
                    "Rekomendasi kegiatan statistik sektoral",
                ],
            ),
            &words(),
        );
        let b = &v[0]["interactive"]["action"]["buttons"];
        let t0 = b[0]["reply"]["title"].as_str().unwrap();
        let t1 = b[1]["reply"]["title"].as_str().unwrap();
        assert!(t0.chars().count() <= BUTTON_TITLE_MAX && t1.chars().count() <= 20);
        assert_ne!(t0, t1);
        assert!(
            t0.starts_with("1. ") && t1.starts_with("2. "),
            "{t0} / {t1}"
        );
    }

    #[test]
    fn four_to_ten_choices_are_a_list_with_descriptions_for_long_labels() {
        let labels = ["Satu", "Dua", "Tiga", "Pegawai negeri sipil / TNI / Polri"];
        let v = messages("628", &msg("Pekerjaan?", &labels), &words());
        let i = &v[0]["interactive"];
        assert_eq!(i["type"], "list");
        assert_eq!(i["action"]["button"], LIST_BUTTON);
        let rows = i["action"]["sections"][0]["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[3]["id"], "v4");
        let title = rows[3]["title"].as_str().unwrap();
        assert!(title.chars().count() <= ROW_TITLE_MAX);
        assert!(title.starts_with("Pegawai negeri") && title.ends_with('…'));
        assert_eq!(rows[3]["description"], "Pegawai negeri sipil / TNI / Polri");
        assert!(rows[0].get("description").is_none());
    }

    #[test]
    fn more_than_ten_choices_are_numbered_text() {
        let labels: Vec<String> = (1..=12).map(|i| format!("Pilihan {i}")).collect();
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let v = messages("628", &msg("Pilih satu:", &refs), &words());
        assert_eq!(v.len(), 1);
        let body = v[0]["text"]["body"].as_str().unwrap();
        assert!(body.contains("\n1. Pilihan 1\n") && body.ends_with("12. Pilihan 12"));
    }

    #[test]
    fn a_long_question_goes_first_as_text_and_the_body_stays_within_1024() {
        let long = "kata ".repeat(400); // 2000 characters
        let v = messages("628", &msg(&long, &["Ya", "Tidak"]), &words());
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["type"], "text");
        let body = v[1]["interactive"]["body"]["text"].as_str().unwrap();
        assert!(body.chars().count() <= BODY_MAX);
    }

    #[test]
    fn templates_take_the_configured_params_in_order_as_one_line() {
        let t = WhatsappTemplate {
            name: "pst_balasan".into(),
            language: "id".into(),
            params: Some(vec![1, 2]),
        };
        let topic = Topic::case(
            "officer_reply",
            "ADU-2026-000001",
            &["Baik,\n\nkami   cek dulu.".to_string()],
        );
        let v = template("628", &t, &topic);
        assert_eq!(v["type"], "template");
        assert_eq!(v["template"]["name"], "pst_balasan");
        assert_eq!(v["template"]["language"]["code"], "id");
        let p = &v["template"]["components"][0]["parameters"];
        assert_eq!(p[0]["text"], "ADU-2026-000001");
        assert_eq!(p[1]["text"], "Baik, kami cek dulu.");
        let none = WhatsappTemplate {
            params: Some(vec![]),
            ..t
        };
        assert!(
            template("628", &none, &topic)["template"]
                .get("components")
                .is_none()
        );
    }
}
