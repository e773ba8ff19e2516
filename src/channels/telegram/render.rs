//! How an [`OutboundMessage`](crate::message::OutboundMessage) looks on Telegram: HTML text (escaped, `*bold*` as `<b>`), long
//! texts split under Telegram's 4096-character limit, and choices as an inline keyboard with
//! short callback data, paged when the list is long. Pure functions, unit-tested here.

use crate::message::{OutboundChoice, escape_html_text};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// Buttons on one keyboard page; longer lists page (and are also listed, numbered, in the text).
pub const PAGE: usize = 8;
/// Telegram allows 4096 characters per message (after entity parsing); parts stay well under.
const PART_CHARS: usize = 3800;
/// Telegram's limit on `callback_data`, in bytes.
const MAX_CALLBACK: usize = 64;

/// Renders one line of message text as HTML: escaped, with `*emphasis*` pairs (the dialogs'
/// markup) in bold. A lone `*` — in a name, say — stays as it is.
fn line_html(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('*') {
        let after = &rest[start + 1..];
        match after.find('*') {
            Some(end)
                if end > 0 && !after[..end].starts_with(' ') && !after[..end].ends_with(' ') =>
            {
                out.push_str(&escape_html_text(&rest[..start]));
                out.push_str("<b>");
                out.push_str(&escape_html_text(&after[..end]));
                out.push_str("</b>");
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&escape_html_text(&rest[..=start]));
                rest = after;
            }
        }
    }
    out.push_str(&escape_html_text(rest));
    out
}

/// A whole text as Telegram HTML.
pub fn html(text: &str) -> String {
    text.split('\n')
        .map(line_html)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Splits a plain text into parts Telegram accepts, at line breaks where possible.
pub fn split(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut n = 0;
    for line in text.split('\n') {
        let len = line.chars().count();
        if n > 0 && n + 1 + len > PART_CHARS {
            parts.push(std::mem::take(&mut cur));
            n = 0;
        }
        if len > PART_CHARS {
            // One very long line: cut it by characters.
            let chars: Vec<char> = line.chars().collect();
            for chunk in chars.chunks(PART_CHARS) {
                if n > 0 {
                    parts.push(std::mem::take(&mut cur));
                }
                cur = chunk.iter().collect();
                n = chunk.len();
            }
            continue;
        }
        if n > 0 {
            cur.push('\n');
            n += 1;
        }
        cur.push_str(line);
        n += len;
    }
    if !cur.is_empty() || parts.is_empty() {
        parts.push(cur);
    }
    parts
}

/// The plain text of a message with choices: a long list is also written out, numbered, so it
/// can be read whole and answered by typing a number while the keyboard shows one page.
pub fn text_with_choices(text: &str, choices: &[OutboundChoice]) -> String {
    if choices.len() <= PAGE {
        return text.to_string();
    }
    let mut s = text.to_string();
    s.push('\n');
    for (i, c) in choices.iter().enumerate() {
        s.push_str(&format!("\n{}. {}", i + 1, c.label));
    }
    s
}

/// What pressing a button sends back (`callback_data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// The choice's value (`v:VALUE`).
    Value(String),
    /// The choice's number, when its value is too long for Telegram (`n:3`): answered as if
    /// typed.
    Number(usize),
    /// Show another page of the list (`p:2`, 0-based).
    Page(usize),
}

impl Callback {
    pub fn encode(&self) -> String {
        match self {
            Callback::Value(v) => format!("v:{v}"),
            Callback::Number(n) => format!("n:{n}"),
            Callback::Page(p) => format!("p:{p}"),
        }
    }

    pub fn decode(data: &str) -> Option<Callback> {
        let (kind, rest) = data.split_once(':')?;
        match kind {
            "v" => Some(Callback::Value(rest.to_string())),
            "n" => rest.parse().ok().map(Callback::Number),
            "p" => rest.parse().ok().map(Callback::Page),
            _ => None,
        }
    }
}

/// The callback of the choice at `index` (0-based).
fn choice_callback(index: usize, c: &OutboundChoice) -> Callback {
    if c.value.len() + 2 <= MAX_CALLBACK {
        Callback::Value(c.value.clone())
    } else {
        Callback::Number(index + 1)
    }
}

/// How many pages a list of choices takes.
pub fn pages(choices: &[OutboundChoice]) -> usize {
    choices.len().div_ceil(PAGE).max(1)
}

/// The inline keyboard for one page of the choices (none for no choices). Short labels go two
/// to a row; a long list gets a row of ◀ / ▶ buttons.
pub fn keyboard(choices: &[OutboundChoice], page: usize) -> Option<InlineKeyboardMarkup> {
    if choices.is_empty() {
        return None;
    }
    let total = pages(choices);
    let page = page.min(total - 1);
    let start = page * PAGE;
    let shown: Vec<InlineKeyboardButton> = choices
        .iter()
        .enumerate()
        .skip(start)
        .take(PAGE)
        .map(|(i, c)| {
            let label = if total > 1 {
                format!("{}. {}", i + 1, c.label)
            } else {
                c.label.clone()
            };
            InlineKeyboardButton::callback(label, choice_callback(i, c).encode())
        })
        .collect();
    let narrow = choices[start..]
        .iter()
        .take(PAGE)
        .all(|c| c.label.chars().count() <= 16);
    let mut rows: Vec<Vec<InlineKeyboardButton>> = if narrow {
        shown.chunks(2).map(<[_]>::to_vec).collect()
    } else {
        shown.into_iter().map(|b| vec![b]).collect()
    };
    if total > 1 {
        let mut nav = Vec::new();
        if page > 0 {
            nav.push(InlineKeyboardButton::callback(
                "◀",
                Callback::Page(page - 1).encode(),
            ));
        }
        if page + 1 < total {
            nav.push(InlineKeyboardButton::callback(
                format!("▶ {}/{}", page + 2, total),
                Callback::Page(page + 1).encode(),
            ));
        }
        rows.push(nav);
    }
    Some(InlineKeyboardMarkup::new(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::InlineKeyboardButtonKind;

    fn choices(n: usize) -> Vec<OutboundChoice> {
        (1..=n)
            .map(|i| OutboundChoice {
                value: format!("opt{i}"),
                label: format!("Pilihan {i}"),
            })
            .collect()
    }

    fn data(b: &InlineKeyboardButton) -> String {
        match &b.kind {
            InlineKeyboardButtonKind::CallbackData(d) => d.clone(),
            k => panic!("not a callback button: {k:?}"),
        }
    }

    #[test]
    fn names_with_markup_characters_are_escaped() {
        assert_eq!(
            html("Halo *Budi_Santoso <CV & Co>*!"),
            "Halo <b>Budi_Santoso &lt;CV &amp; Co&gt;</b>!"
        );
        assert_eq!(html("a*b"), "a*b");
        assert_eq!(html("2 * 3 * 4"), "2 * 3 * 4");
        assert_eq!(html("<script>"), "&lt;script&gt;");
    }

    #[test]
    fn long_texts_split_at_lines_under_the_limit() {
        let line = "x".repeat(100);
        let text = vec![line.as_str(); 100].join("\n");
        let parts = split(&text);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.chars().count() <= PART_CHARS));
        assert_eq!(parts.join("\n"), text);
        let one = "y".repeat(9000);
        let parts = split(&one);
        assert_eq!(parts.concat(), one);
        assert_eq!(split("").len(), 1);
    }

    #[test]
    fn callbacks_round_trip_and_long_values_use_numbers() {
        for c in [
            Callback::Value("ya".into()),
            Callback::Number(12),
            Callback::Page(2),
        ] {
            assert_eq!(Callback::decode(&c.encode()), Some(c));
        }
        assert_eq!(Callback::decode("junk"), None);
        let long = OutboundChoice {
            value: "v".repeat(80),
            label: "Panjang".into(),
        };
        let kb = keyboard(&[long], 0).unwrap();
        assert_eq!(data(&kb.inline_keyboard[0][0]), "n:1");
    }

    #[test]
    fn short_lists_fit_one_keyboard_long_lists_page() {
        let kb = keyboard(&choices(3), 0).unwrap();
        let all: Vec<String> = kb.inline_keyboard.iter().flatten().map(data).collect();
        assert_eq!(all, vec!["v:opt1", "v:opt2", "v:opt3"]);
        assert_eq!(text_with_choices("Pilih", &choices(3)), "Pilih");

        let many = choices(18);
        assert_eq!(pages(&many), 3);
        let first = keyboard(&many, 0).unwrap();
        let nav = first.inline_keyboard.last().unwrap();
        assert_eq!(nav.len(), 1);
        assert_eq!(data(&nav[0]), "p:1");
        let last = keyboard(&many, 2).unwrap();
        let buttons: Vec<String> = last.inline_keyboard.iter().flatten().map(data).collect();
        assert_eq!(buttons, vec!["v:opt17", "v:opt18", "p:1"]);
        let text = text_with_choices("Pilih", &many);
        assert!(text.contains("\n1. Pilihan 1") && text.contains("\n18. Pilihan 18"));
        assert!(keyboard(&[], 0).is_none());
    }
}
