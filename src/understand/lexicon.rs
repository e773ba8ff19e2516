//! The lexicon: every word the understanding layer knows that is not tied to one dialog step
//! (slang, number words, ways to say yes/no/skip/send, dates, commands, mail providers), read
//! from `dialogs/lexicon.toml` and validated when loaded. The file's own header documents its
//! format for the office; this file turns it into lookup tables (hash maps, so reading a message
//! never walks the whole lexicon per word).

use super::command::GlobalCommand;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// A problem in the lexicon file: the file, the entry (`words.tidak`, `answers.yes`) and what is
/// wrong, in the style of the dialog loader's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}, entry `{entry}`: {problem}")]
pub struct LexiconError {
    pub file: String,
    pub entry: String,
    pub problem: String,
}

/// A list of phrases (one or more normalised words each), searched by their first word.
#[derive(Debug, Clone, Default)]
pub(super) struct Phrases {
    by_first: HashMap<String, Vec<Vec<String>>>,
    /// Entries without any word ("-", "--"), compared with the message without spaces.
    pub(super) symbols: HashSet<String>,
}

impl Phrases {
    pub(super) fn insert(&mut self, tokens: Vec<String>) {
        if let Some(first) = tokens.first().cloned() {
            let list = self.by_first.entry(first).or_default();
            if !list.contains(&tokens) {
                list.push(tokens);
                list.sort_by_key(|p| std::cmp::Reverse(p.len()));
            }
        }
    }

    /// The length of the longest phrase that starts at `tokens[i]`.
    pub(super) fn longest_at(&self, tokens: &[String], i: usize) -> Option<usize> {
        let list = self.by_first.get(tokens.get(i)?)?;
        list.iter()
            .find(|p| tokens.len() >= i + p.len() && tokens[i..i + p.len()] == p[..])
            .map(Vec::len)
    }

    /// Whether one of the symbol entries is the whole message (spaces ignored).
    pub(super) fn symbol(&self, original: &str) -> bool {
        let compact: String = original.chars().filter(|c| !c.is_whitespace()).collect();
        !compact.is_empty() && self.symbols.contains(&compact)
    }

    /// Whether any phrase occurs anywhere in `tokens`.
    pub(super) fn occurs(&self, tokens: &[String]) -> bool {
        (0..tokens.len()).any(|i| self.longest_at(tokens, i).is_some())
    }

    /// Whether `tokens` hold exactly one phrase, with only fillers around it.
    pub(super) fn whole(&self, lex: &Lexicon, tokens: &[String]) -> bool {
        (0..tokens.len()).any(|i| {
            self.by_first.get(&tokens[i]).is_some_and(|list| {
                list.iter().any(|p| {
                    tokens.len() >= i + p.len()
                        && tokens[i..i + p.len()] == p[..]
                        && lex.only_fillers(&tokens[..i])
                        && lex.only_fillers(&tokens[i + p.len()..])
                })
            })
        })
    }

    /// Every phrase, for the checks at load.
    pub(super) fn all(&self) -> impl Iterator<Item = &Vec<String>> {
        self.by_first.values().flatten()
    }
}

/// The loaded, validated lexicon. Build it once at start-up ([`Lexicon::load`]) and pass it to
/// every reading function.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    pub(super) slang: HashMap<String, Vec<String>>,
    pub(super) known: HashSet<String>,
    pub(super) emoji: HashMap<char, String>,
    pub(super) number_words: HashMap<String, f64>,
    pub(super) scales: HashMap<String, f64>,
    pub(super) teens: HashSet<String>,
    pub(super) approximately: Phrases,
    pub(super) yes: Phrases,
    pub(super) no: Phrases,
    pub(super) unsure: Phrases,
    pub(super) skip: Phrases,
    pub(super) confirm: Phrases,
    pub(super) change: Phrases,
    pub(super) done: Phrases,
    /// "saya sendiri", "nomor saya tadi": the person's own guest book answer (a step's `me`).
    pub(super) me: Phrases,
    pub(super) negations: HashSet<String>,
    pub(super) fillers: HashSet<String>,
    pub(super) filler_phrases: Phrases,
    pub(super) question_words: Phrases,
    pub(super) openers: Phrases,
    pub(super) tags: Phrases,
    pub(super) not_questions: Phrases,
    pub(super) relative: Phrases,
    pub(super) relative_days: HashMap<Vec<String>, i64>,
    pub(super) ago: Phrases,
    pub(super) ahead: Phrases,
    pub(super) day_units: HashMap<String, i64>,
    pub(super) month_units: HashMap<String, i64>,
    /// Weekday words to 0 (Monday) ..= 6 (Sunday).
    pub(super) weekdays: HashMap<String, u32>,
    /// Month words to 1 ..= 12; `month_names` are the full names, for typo tolerance.
    pub(super) months: HashMap<String, u32>,
    pub(super) month_names: Vec<(String, u32)>,
    pub(super) date_fillers: HashSet<String>,
    pub(super) commands: Vec<(Phrases, GlobalCommand)>,
    pub(super) greetings: Phrases,
    pub(super) thanks: Phrases,
    pub(super) acknowledgements: Phrases,
    pub(super) email_domains: Vec<String>,
}

impl Lexicon {
    /// Reads and validates the lexicon file (`dialogs/lexicon.toml`).
    pub fn load(path: &Path) -> Result<Lexicon, Vec<LexiconError>> {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| path.display().to_string());
        match std::fs::read_to_string(path) {
            Ok(text) => Lexicon::parse(&file, &text),
            Err(e) => Err(vec![LexiconError {
                file,
                entry: "(file)".into(),
                problem: format!("cannot read: {e}"),
            }]),
        }
    }

    /// Parses and validates lexicon TOML; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Lexicon, Vec<LexiconError>> {
        super::lexicon_file::build(file, text)
    }

    /// Whether a word carries nothing in a short answer ("dong", "min", "saja").
    pub(super) fn is_filler(&self, token: &str) -> bool {
        self.fillers.contains(token)
    }

    /// How many words of filler start at `t[i]` ("terima kasih": 2; "dong": 1; else 0).
    pub(super) fn filler_at(&self, t: &[String], i: usize) -> usize {
        let phrase = self.filler_phrases.longest_at(t, i).unwrap_or(0);
        let word = usize::from(t.get(i).is_some_and(|w| self.is_filler(w)));
        phrase.max(word)
    }

    /// The words without fillers.
    pub(super) fn without_fillers(&self, t: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(t.len());
        let mut i = 0;
        while i < t.len() {
            match self.filler_at(t, i) {
                0 => {
                    out.push(t[i].clone());
                    i += 1;
                }
                n => i += n,
            }
        }
        out
    }

    /// Whether the words are all fillers (or none).
    pub(super) fn only_fillers(&self, t: &[String]) -> bool {
        let mut i = 0;
        while i < t.len() {
            match self.filler_at(t, i) {
                0 => return false,
                n => i += n,
            }
        }
        true
    }

    /// Whether a word is a real word that must not be read as a typo of another.
    pub(super) fn is_known(&self, token: &str) -> bool {
        self.known.contains(token)
    }
}

/// Variation selectors and skin tones, ignored when an emoji is looked up.
pub(super) fn is_modifier(c: char) -> bool {
    matches!(
        c,
        '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"
[words]
tidak = ["gak", "ga"]
saya = ["sy"]
[known]
words = ["hanya"]
[emoji]
"👍" = "ya"
[numbers]
words = { satu = 1, dua = 2 }
scales = { puluh = 10 }
teens = ["belas"]
approximately = ["sekitar"]
[answers]
yes = ["ya"]
no = ["tidak"]
unsure = ["mungkin"]
skip = ["-", "tidak ada"]
confirm = ["kirim"]
change = ["ubah"]
done = ["selesai"]
negations = ["tidak"]
[fillers]
words = ["dong"]
[questions]
words = ["apa"]
openers = ["bisa"]
tags = ["tidak"]
not_questions = ["apa kabar"]
[dates]
relative = { "hari ini" = 0 }
ago = ["lalu"]
ahead = ["depan"]
day_units = { hari = 1 }
month_units = { bulan = 1 }
weekdays = { senin = [], selasa = [], rabu = [], kamis = [], jumat = [], sabtu = [], minggu = [] }
months = { januari = [], februari = [], maret = [], april = [], mei = [], juni = [], juli = [], agustus = [], september = [], oktober = [], november = [], desember = [] }
fillers = ["tanggal"]
[commands]
menu = ["menu"]
[email]
domains = ["gmail.com"]
[chat]
greetings = ["halo"]
thanks = ["terima kasih"]
acknowledgements = ["ok"]
"#;

    #[test]
    fn a_small_lexicon_loads() {
        // MINI has no `me` list under [answers]: a lexicon written before it still loads.
        let lex = Lexicon::parse("lexicon.toml", MINI).unwrap();
        assert_eq!(lex.slang["gak"], vec!["tidak".to_string()]);
        assert!(lex.skip.symbol(" - "));
        assert_eq!(lex.months["maret"], 3);
        assert_eq!(lex.weekdays["minggu"], 6);
    }

    #[test]
    fn the_shipped_lexicon_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogs/lexicon.toml");
        if let Err(e) = Lexicon::load(&path) {
            panic!("{e:#?}");
        }
    }

    fn problems(edit: (&str, &str)) -> Vec<LexiconError> {
        let text = MINI.replacen(edit.0, edit.1, 1);
        assert_ne!(text, MINI, "the edit applies");
        Lexicon::parse("lexicon.toml", &text).unwrap_err()
    }

    fn has(errors: &[LexiconError], entry: &str, fragment: &str) -> bool {
        errors
            .iter()
            .any(|e| e.entry == entry && e.problem.contains(fragment))
    }

    #[test]
    fn mistakes_are_named_with_their_entry() {
        let e = problems((
            "tidak = [\"gak\", \"ga\"]",
            "tidak = [\"gak\", \"ga\", \"sy\"]",
        ));
        assert!(has(&e, "words.tidak", "also listed under `saya`"), "{e:#?}");
        let e = problems(("saya = [\"sy\"]", "saya = [\"s y\"]"));
        assert!(has(&e, "words.saya", "one word"), "{e:#?}");
        let e = problems(("confirm = [\"kirim\"]", "confirm = [\"kirim\", \"ubah\"]"));
        assert!(
            has(&e, "answers.confirm", "also in answers.change"),
            "{e:#?}"
        );
        let e = problems(("menu = [\"menu\"]", "menuu = [\"menu\"]"));
        assert!(has(&e, "commands.menuu", "unknown command"), "{e:#?}");
        let e = problems(("januari = [], ", ""));
        assert!(has(&e, "dates.months", "`januari` is missing"), "{e:#?}");
        let e = problems(("domains = [\"gmail.com\"]", "domains = [\"gmail\"]"));
        assert!(has(&e, "email.domains", "not a mail domain"), "{e:#?}");
        let e = problems(("[answers]", "[answer]"));
        assert!(e[0].problem.contains("invalid TOML"), "{e:#?}");
        let e = problems(("saya = [\"sy\"]", "saya = [\"sy\"]\nsy = [\"aku\"]"));
        assert!(has(&e, "words.sy", "itself listed under `saya`"), "{e:#?}");
        assert_eq!(
            e.iter()
                .find(|x| x.entry == "words.sy")
                .unwrap()
                .to_string(),
            "lexicon.toml, entry `words.sy`: its word `sy` is itself listed under `saya`: write `saya` instead"
        );
    }
}
