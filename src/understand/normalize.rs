//! Normalisation: a message as typed on a phone becomes a list of standard lower-case words
//! ("tokens") that every other reader matches against. It owns the order of the steps (see the
//! header of `dialogs/lexicon.toml`): case, emoji and punctuation, letters typed three times,
//! reduplication (`laki2`), digits glued to words (`2rb`), slang, `-nya`, number words.

use super::lexicon::{Lexicon, is_modifier};
use std::borrow::Cow;

/// A message read for matching: the original (to store as typed) and its normalised words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The message exactly as received.
    pub original: String,
    /// Lower-case standard words; number words are digits ("tiga" -> "3").
    pub tokens: Vec<String>,
}

impl Normalized {
    /// The words joined by single spaces (what normalising it again gives back).
    pub fn text(&self) -> String {
        self.tokens.join(" ")
    }
}

/// Reads a message: see the module documentation for the steps. Never fails; an emoji-only or
/// punctuation-only message has no tokens.
pub fn normalize(lex: &Lexicon, text: &str) -> Normalized {
    let mut tokens = Vec::new();
    for raw in tokenize_raw(lex, text) {
        each_piece(&raw, |piece| standardize(lex, piece, &mut tokens));
    }
    Normalized {
        original: text.to_string(),
        tokens,
    }
}

/// How a number value is written as a token: digits, with a decimal comma when needed.
pub(super) fn number_token(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}").replace('.', ",")
    }
}

/// Lower case, emoji to their words, punctuation dropped; `1,5` / `1.500` and `s-2` stay one
/// token, `jum'at` becomes `jumat`.
pub(super) fn tokenize_raw(lex: &Lexicon, text: &str) -> Vec<String> {
    let lower: Vec<char> = text.to_lowercase().chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    for (i, &c) in lower.iter().enumerate() {
        let next = lower.get(i + 1).copied();
        let last = cur.chars().last();
        let decimal = matches!(c, '.' | ',')
            && last.is_some_and(|l| l.is_ascii_digit())
            && next.is_some_and(|n| n.is_ascii_digit());
        if c.is_alphanumeric() || decimal {
            cur.push(c);
        } else if c == '-'
            && cur.chars().count() == 1
            && last.is_some_and(char::is_alphabetic)
            && next.is_some_and(|n| n.is_ascii_digit())
        {
            // "s-2" is the education level S2.
        } else if matches!(c, '\'' | '’' | '`')
            && last.is_some_and(char::is_alphabetic)
            && next.is_some_and(char::is_alphabetic)
        {
            // "jum'at"
        } else {
            flush(&mut cur, &mut out);
            if let Some(word) = lex.emoji.get(&c)
                && !is_modifier(c)
            {
                out.extend(word.split_whitespace().map(str::to_string));
            }
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// The pieces one raw word becomes before the lexicon is applied (letters typed three times
/// squeezed, "laki2" doubled, "2rb" split).
pub(super) fn pieces(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    each_piece(raw, |piece| out.push(piece.to_string()));
    out
}

/// [`pieces`], handed to `f` one by one. Every message is normalised several times (commands,
/// questions, the step's answer), so a word that needs no change is not copied.
fn each_piece(raw: &str, mut f: impl FnMut(&str)) {
    let squeezed = squeeze(raw);
    split_digits(&squeezed, |piece| match piece.strip_suffix('2') {
        // "laki2" -> "laki laki"; "s2" stays.
        Some(stem) if stem.chars().count() >= 3 && stem.chars().all(char::is_alphabetic) => {
            f(stem);
            f(stem);
        }
        _ => f(piece),
    });
}

/// A letter typed three or more times in a row counts once ("iyaaa" -> "iya").
fn squeeze(word: &str) -> Cow<'_, str> {
    if !has_long_run(word) {
        return Cow::Borrowed(word);
    }
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        let run = j - i;
        let keep = if c.is_alphabetic() && run >= 3 {
            1
        } else {
            run
        };
        out.extend(std::iter::repeat_n(c, keep));
        i = j;
    }
    Cow::Owned(out)
}

/// Whether a letter is typed three or more times in a row (what [`squeeze`] changes).
fn has_long_run(word: &str) -> bool {
    let mut prev = None;
    let mut run = 0;
    for c in word.chars() {
        run = if prev == Some(c) { run + 1 } else { 1 };
        prev = Some(c);
        if run >= 3 && c.is_alphabetic() {
            return true;
        }
    }
    false
}

/// Digits followed by letters are two words: "2rb" -> "2", "rb".
fn split_digits(word: &str, mut f: impl FnMut(&str)) {
    let mut start = 0;
    let mut prev: Option<char> = None;
    for (i, c) in word.char_indices() {
        if prev.is_some_and(|p| p.is_ascii_digit()) && c.is_alphabetic() {
            f(&word[start..i]);
            start = i;
        }
        prev = Some(c);
    }
    if start < word.len() {
        f(&word[start..]);
    }
}

/// Slang to its standard word(s), "-nya" cut, number words to digits; pushes the result.
fn standardize(lex: &Lexicon, word: &str, out: &mut Vec<String>) {
    if let Some(std) = lex.slang.get(word) {
        for t in std {
            out.push(numberize(lex, t));
        }
        return;
    }
    let mut w = word;
    while !lex.is_known(w)
        && !lex.number_words.contains_key(w)
        && w.chars().all(char::is_alphabetic)
        && w.ends_with("nya")
        && w.chars().count() >= 6
    {
        w = &w[..w.len() - "nya".len()];
        if let Some(std) = lex.slang.get(w) {
            for t in std {
                out.push(numberize(lex, t));
            }
            return;
        }
    }
    out.push(numberize(lex, w));
}

fn numberize(lex: &Lexicon, w: &str) -> String {
    match lex.number_words.get(w) {
        Some(v) => number_token(*v),
        None => w.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;
    use proptest::prelude::*;

    fn toks(s: &str) -> String {
        normalize(test_lexicon(), s).text()
    }

    #[test]
    fn slang_case_and_punctuation() {
        assert_eq!(toks("Sy GAK tau!!"), "saya tidak tau");
        assert_eq!(toks("iyaaa"), "ya");
        assert_eq!(toks("puasss"), "puas");
        assert_eq!(toks("laki2"), "laki laki");
        assert_eq!(toks("lain2"), "lain lain");
        assert_eq!(toks("mau tanya2"), "mau tanya tanya");
        assert_eq!(toks("kantornya dmn"), "kantor dimana");
        assert_eq!(toks("petugasnya jutek"), "petugas jutek");
        assert_eq!(toks("hanya punya"), "hanya punya");
        assert_eq!(toks("2rb"), "2 ribu");
        assert_eq!(toks("1,2 rb"), "1,2 ribu");
        assert_eq!(toks("S-2"), "s2");
        assert_eq!(toks("S1"), "s1");
        assert_eq!(toks("tiga"), "3");
        assert_eq!(toks("seminggu yg lalu"), "1 minggu yang lalu");
        assert_eq!(toks("jum'at"), "jumat");
        assert_eq!(toks("👍"), "ya");
        assert_eq!(toks("👍🏽"), "ya");
        assert_eq!(toks("⭐⭐⭐"), "bintang bintang bintang");
        assert_eq!(toks("😂😂"), "");
        assert_eq!(toks("05.12.2026"), "05.12.2026");
        assert_eq!(toks("20an"), "20 an");
    }

    #[test]
    fn the_original_is_kept() {
        let n = normalize(test_lexicon(), "  Sy mau NGADU  ");
        assert_eq!(n.original, "  Sy mau NGADU  ");
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(s in "\\PC{0,60}") {
            let once = normalize(test_lexicon(), &s);
            let twice = normalize(test_lexicon(), &once.text());
            prop_assert_eq!(once.tokens, twice.tokens);
        }

        #[test]
        fn idempotent_on_chat_like_text(s in "[a-z0-9 ,.\\-'2]{0,40}(nya|2|aaa)?") {
            let once = normalize(test_lexicon(), &s);
            let twice = normalize(test_lexicon(), &once.text());
            prop_assert_eq!(once.tokens, twice.tokens);
        }
    }
}
