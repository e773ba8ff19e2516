//! Small talk outside a form (issue 25): a greeting, thanks, or a short word that answers
//! nothing ("ya", "ok", "👍", a sticker). A person with an open case who says one of these gets
//! the menu or a short answer; nothing is forwarded to the officers. The words are the lexicon's
//! `[chat]` lists; the whole message must be one of them, with fillers around it.

use super::lexicon::Lexicon;
use super::normalize::normalize;

/// What a short message outside a form is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallTalk {
    /// "halo", "selamat pagi", "assalamualaikum".
    Greeting,
    /// "makasih", "terima kasih banyak", "🙏".
    Thanks,
    /// "ya", "ok", "siap", "👍", or only emoji and punctuation.
    Acknowledgement,
}

/// The small talk a message is, if the whole message is that.
pub fn small_talk(lex: &Lexicon, text: &str) -> Option<SmallTalk> {
    if text.trim().is_empty() {
        return None;
    }
    let n = normalize(lex, text);
    let t = &n.tokens;
    if t.is_empty() {
        // Only emoji or punctuation: nothing for an officer to read.
        return Some(SmallTalk::Acknowledgement);
    }
    if lex.thanks.whole(lex, t) {
        return Some(SmallTalk::Thanks);
    }
    if lex.greetings.whole(lex, t) {
        return Some(SmallTalk::Greeting);
    }
    if lex.acknowledgements.whole(lex, t) {
        return Some(SmallTalk::Acknowledgement);
    }
    None
}

/// How many words of a message carry something (fillers such as "halo", "kak", "ya" do not).
pub fn content_words(lex: &Lexicon, text: &str) -> usize {
    lex.without_fillers(&normalize(lex, text).tokens).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::understand::test_lexicon;

    fn read(t: &str) -> Option<SmallTalk> {
        small_talk(test_lexicon(), t)
    }

    #[test]
    fn greetings_thanks_and_acknowledgements_as_people_type_them() {
        for g in [
            "halo",
            "Halo kak",
            "selamat pagi pak",
            "Assalamualaikum",
            "hi",
            "P",
        ] {
            assert_eq!(read(g), Some(SmallTalk::Greeting), "{g}");
        }
        for t in [
            "makasih",
            "makasih ya kak",
            "Terima kasih banyak",
            "🙏",
            "thx",
        ] {
            assert_eq!(read(t), Some(SmallTalk::Thanks), "{t}");
        }
        for a in ["ya", "ok", "oke min", "siap", "👍", "!!", "😊"] {
            assert_eq!(read(a), Some(SmallTalk::Acknowledgement), "{a}");
        }
    }

    #[test]
    fn a_message_with_content_is_not_small_talk() {
        for m in [
            "halo, data saya belum dikirim",
            "ya tapi kapan selesainya",
            "terima kasih, tapi file yang dikirim salah",
            "ok saya kirim revisinya besok",
            "tidak",
        ] {
            assert_eq!(read(m), None, "{m}");
        }
    }
}
