//! The lexicon: every word the understanding layer knows that is not tied to one dialog step
//! (slang, number words, ways to say yes/no/skip/send, dates, commands, mail providers), read
//! from `dialogs/lexicon.toml` and validated when loaded. The file's own header documents its
//! format for the office; this file turns it into lookup tables (hash maps, so reading a message
//! never walks the whole lexicon per word).

use super::command::GlobalCommand;
use super::normalize::{normalize, pieces, tokenize_raw};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    words: BTreeMap<String, Vec<String>>,
    known: RawList,
    emoji: BTreeMap<String, String>,
    numbers: RawNumbers,
    answers: RawAnswers,
    fillers: RawList,
    questions: RawQuestions,
    dates: RawDates,
    commands: BTreeMap<String, Vec<String>>,
    email: RawEmail,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNumbers {
    words: BTreeMap<String, f64>,
    scales: BTreeMap<String, f64>,
    teens: Vec<String>,
    approximately: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswers {
    yes: Vec<String>,
    no: Vec<String>,
    unsure: Vec<String>,
    skip: Vec<String>,
    confirm: Vec<String>,
    change: Vec<String>,
    done: Vec<String>,
    negations: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestions {
    words: Vec<String>,
    openers: Vec<String>,
    tags: Vec<String>,
    not_questions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDates {
    relative: BTreeMap<String, i64>,
    ago: Vec<String>,
    ahead: Vec<String>,
    day_units: BTreeMap<String, i64>,
    month_units: BTreeMap<String, i64>,
    weekdays: BTreeMap<String, Vec<String>>,
    months: BTreeMap<String, Vec<String>>,
    fillers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    domains: Vec<String>,
}

/// A list of phrases (one or more normalised words each), searched by their first word.
#[derive(Debug, Clone, Default)]
pub(super) struct Phrases {
    by_first: HashMap<String, Vec<Vec<String>>>,
    /// Entries without any word ("-", "--"), compared with the message without spaces.
    symbols: HashSet<String>,
}

impl Phrases {
    fn insert(&mut self, tokens: Vec<String>) {
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
    fn all(&self) -> impl Iterator<Item = &Vec<String>> {
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
    pub(super) email_domains: Vec<String>,
}

const WEEKDAYS: [&str; 7] = [
    "senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu",
];
const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maret",
    "april",
    "mei",
    "juni",
    "juli",
    "agustus",
    "september",
    "oktober",
    "november",
    "desember",
];

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
        let raw: RawLexicon = toml::from_str(text).map_err(|e| {
            vec![LexiconError {
                file: file.to_string(),
                entry: "(file)".into(),
                problem: format!("invalid TOML: {}", e.message().trim()),
            }]
        })?;
        let mut b = Builder {
            file,
            errors: Vec::new(),
            lex: Lexicon::default(),
        };
        b.core(&raw);
        b.rest(&raw);
        if b.errors.is_empty() {
            Ok(b.lex)
        } else {
            Err(b.errors)
        }
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

struct Builder<'a> {
    file: &'a str,
    errors: Vec<LexiconError>,
    lex: Lexicon,
}

impl Builder<'_> {
    fn err(&mut self, entry: impl Into<String>, problem: impl Into<String>) {
        self.errors.push(LexiconError {
            file: self.file.to_string(),
            entry: entry.into(),
            problem: problem.into(),
        });
    }

    /// One word as the tokenizer sees it, or an error.
    fn one_word(&mut self, entry: &str, w: &str) -> Option<String> {
        let toks = tokenize_raw(&self.lex, w);
        if toks.len() == 1 && !w.trim().contains(char::is_whitespace) {
            if pieces(&toks[0]) != [toks[0].clone()] {
                self.err(
                    entry,
                    format!("`{w}` is never seen as typed: a letter three times, a word ending in 2 or digits before letters are read apart first"),
                );
                return None;
            }
            Some(toks[0].clone())
        } else {
            self.err(
                entry,
                format!("`{w}` must be one word (letters and digits, no spaces)"),
            );
            None
        }
    }

    /// The first pass: what normalisation itself needs (slang, known words, emoji, numbers).
    fn core(&mut self, raw: &RawLexicon) {
        for (k, v) in &raw.emoji {
            let base: Vec<char> = k.chars().filter(|c| !is_modifier(*c)).collect();
            match base.as_slice() {
                [c] if !c.is_alphanumeric() && !v.trim().is_empty() => {
                    self.lex.emoji.insert(*c, v.trim().to_lowercase());
                }
                _ => self.err(
                    format!("emoji.{k}"),
                    "an emoji entry must be one emoji (no letters) with a word",
                ),
            }
        }
        for w in &raw.known.words {
            if let Some(t) = self.one_word("known.words", w) {
                self.lex.known.insert(t);
            }
        }
        let mut owner: HashMap<String, String> = HashMap::new();
        for (standard, variants) in &raw.words {
            let entry = format!("words.{standard}");
            let std_tokens: Vec<String> = tokenize_raw(&self.lex, standard);
            if std_tokens.is_empty() {
                self.err(&entry, "the standard word is empty");
                continue;
            }
            if variants.is_empty() {
                self.err(&entry, "lists no word: add what people type, or remove it");
            }
            for v in variants {
                let Some(t) = self.one_word(&entry, v) else {
                    continue;
                };
                if std_tokens.len() == 1 && std_tokens[0] == t {
                    self.err(&entry, format!("`{v}` is the standard word itself"));
                } else if let Some(prev) = owner.get(&t) {
                    if prev != standard {
                        self.err(
                            &entry,
                            format!("`{v}` is also listed under `{prev}`: a word may mean one thing only"),
                        );
                    }
                } else {
                    owner.insert(t.clone(), standard.clone());
                    self.lex.slang.insert(t, std_tokens.clone());
                }
            }
        }
        // A standard word must not itself be replaced: no chains (a -> b -> c).
        for standard in raw.words.keys() {
            for t in tokenize_raw(&self.lex, standard) {
                if let Some(other) = owner.get(&t) {
                    self.err(
                        format!("words.{standard}"),
                        format!("its word `{t}` is itself listed under `{other}`: write `{other}` instead"),
                    );
                }
                self.lex.known.insert(t);
            }
        }
        for (w, v) in &raw.numbers.words {
            let entry = format!("numbers.words.{w}");
            if !v.is_finite() || *v < 0.0 {
                self.err(&entry, "the value must be a number of 0 or more");
            } else if let Some(t) = self.one_word(&entry, w) {
                if self.lex.slang.contains_key(&t) {
                    self.err(&entry, "this word is also in [words]");
                }
                self.lex.number_words.insert(t.clone(), *v);
                self.lex.known.insert(t);
            }
        }
        for (w, v) in &raw.numbers.scales {
            let entry = format!("numbers.scales.{w}");
            if !v.is_finite() || *v <= 1.0 {
                self.err(&entry, "a scale must be larger than 1");
            } else if let Some(t) = self.one_word(&entry, w) {
                self.lex.scales.insert(t.clone(), *v);
                self.lex.known.insert(t);
            }
        }
        for w in &raw.numbers.teens {
            if let Some(t) = self.one_word("numbers.teens", w) {
                self.lex.teens.insert(t);
            }
        }
    }

    /// Normalises a list of phrases with the core tables.
    fn phrases(&mut self, entry: &str, list: &[String]) -> Phrases {
        let mut p = Phrases::default();
        for s in list {
            let n = normalize(&self.lex, s);
            if n.tokens.is_empty() {
                let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                if compact.is_empty() {
                    self.err(entry, "an entry is empty");
                } else {
                    p.symbols.insert(compact);
                }
            } else {
                p.insert(n.tokens);
            }
        }
        if list.is_empty() {
            self.err(entry, "the list is empty");
        }
        p
    }

    fn overlap(&mut self, entry: &str, a: &Phrases, b: &Phrases, what: &str) {
        for p in a.all() {
            if b.all().any(|q| q == p) {
                self.err(
                    entry,
                    format!("`{}` is also in {what}: it cannot mean both", p.join(" ")),
                );
            }
        }
    }

    fn unit_map(&mut self, entry: &str, m: &BTreeMap<String, i64>) -> HashMap<String, i64> {
        let mut out = HashMap::new();
        for (k, v) in m {
            if *v <= 0 {
                self.err(format!("{entry}.{k}"), "must be 1 or more");
            } else if let Some(t) = self.one_word(entry, k) {
                let t = normalize(&self.lex, &t).tokens.join(" ");
                out.insert(t, *v);
            }
        }
        out
    }

    fn named(
        &mut self,
        entry: &str,
        names: &[&str],
        raw: &BTreeMap<String, Vec<String>>,
    ) -> HashMap<String, u32> {
        let mut out = HashMap::new();
        for k in raw.keys() {
            if !names.contains(&k.as_str()) {
                self.err(
                    format!("{entry}.{k}"),
                    format!("unknown key: the keys are {}", names.join(", ")),
                );
            }
        }
        for (i, name) in names.iter().enumerate() {
            let Some(aliases) = raw.get(*name) else {
                self.err(entry, format!("`{name}` is missing"));
                continue;
            };
            for w in std::iter::once(&name.to_string()).chain(aliases) {
                for t in normalize(&self.lex, w).tokens {
                    out.insert(t, i as u32);
                }
            }
        }
        out
    }

    /// The second pass: every list, normalised with the core tables.
    fn rest(&mut self, raw: &RawLexicon) {
        let mut phrases = Phrases::default();
        for w in &raw.fillers.words {
            let t = normalize(&self.lex, w).tokens;
            // A filler is a real word: never read as a typo of another.
            self.lex.known.extend(t.iter().cloned());
            match t.len() {
                0 => self.err("fillers.words", format!("`{w}` has no word")),
                1 => {
                    self.lex.fillers.insert(t[0].clone());
                }
                _ => phrases.insert(t),
            }
        }
        self.lex.filler_phrases = phrases;
        let a = &raw.answers;
        self.lex.approximately = self.phrases("numbers.approximately", &raw.numbers.approximately);
        self.lex.yes = self.phrases("answers.yes", &a.yes);
        self.lex.no = self.phrases("answers.no", &a.no);
        self.lex.unsure = self.phrases("answers.unsure", &a.unsure);
        self.lex.skip = self.phrases("answers.skip", &a.skip);
        self.lex.confirm = self.phrases("answers.confirm", &a.confirm);
        self.lex.change = self.phrases("answers.change", &a.change);
        self.lex.done = self.phrases("answers.done", &a.done);
        let (yes, no, confirm, change) = (
            self.lex.yes.clone(),
            self.lex.no.clone(),
            self.lex.confirm.clone(),
            self.lex.change.clone(),
        );
        self.overlap("answers.yes", &yes, &no, "answers.no");
        self.overlap("answers.confirm", &confirm, &change, "answers.change");
        for w in &a.negations {
            for t in normalize(&self.lex, w).tokens {
                self.lex.negations.insert(t);
            }
        }
        let q = &raw.questions;
        self.lex.question_words = self.phrases("questions.words", &q.words);
        self.lex.openers = self.phrases("questions.openers", &q.openers);
        self.lex.tags = self.phrases("questions.tags", &q.tags);
        self.lex.not_questions = self.phrases("questions.not_questions", &q.not_questions);
        let d = &raw.dates;
        let mut relative = Phrases::default();
        for (k, v) in &d.relative {
            let t = normalize(&self.lex, k).tokens;
            if t.is_empty() || v.abs() > 31 {
                self.err(
                    format!("dates.relative.{k}"),
                    "needs words and a number of days between -31 and 31",
                );
                continue;
            }
            self.lex.relative_days.insert(t.clone(), *v);
            relative.insert(t);
        }
        self.lex.relative = relative;
        self.lex.ago = self.phrases("dates.ago", &d.ago);
        self.lex.ahead = self.phrases("dates.ahead", &d.ahead);
        self.lex.day_units = self.unit_map("dates.day_units", &d.day_units);
        self.lex.month_units = self.unit_map("dates.month_units", &d.month_units);
        self.lex.weekdays = self.named("dates.weekdays", &WEEKDAYS, &d.weekdays);
        let months = self.named("dates.months", &MONTHS, &d.months);
        self.lex.months = months.into_iter().map(|(k, v)| (k, v + 1)).collect();
        self.lex.month_names = MONTHS
            .iter()
            .enumerate()
            .map(|(i, m)| (m.to_string(), i as u32 + 1))
            .collect();
        for w in &d.fillers {
            for t in normalize(&self.lex, w).tokens {
                self.lex.date_fillers.insert(t);
            }
        }
        let mut seen: HashMap<Vec<String>, String> = HashMap::new();
        for (k, list) in &raw.commands {
            let entry = format!("commands.{k}");
            let Some(cmd) = GlobalCommand::from_key(k) else {
                self.err(
                    &entry,
                    "unknown command: menu, batal, kembali, bantuan, bahasa:en, bahasa:id, datasaya or hapusdata",
                );
                continue;
            };
            let p = self.phrases(&entry, list);
            for phrase in p.all() {
                if let Some(prev) = seen.insert(phrase.clone(), k.clone())
                    && &prev != k
                {
                    self.err(
                        &entry,
                        format!("`{}` is also a form of `{prev}`", phrase.join(" ")),
                    );
                }
            }
            self.lex.commands.push((p, cmd));
        }
        for dom in &raw.email.domains {
            let d = dom.trim().to_lowercase();
            let ok = d.contains('.')
                && !d.starts_with('.')
                && !d.ends_with('.')
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if ok {
                self.lex.email_domains.push(d);
            } else {
                self.err("email.domains", format!("`{dom}` is not a mail domain"));
            }
        }
        // Normalising a standard word must give it back, or messages would not normalise
        // the same way twice.
        let standards: Vec<Vec<String>> = self.lex.slang.values().cloned().collect();
        for s in standards {
            let again = normalize(&self.lex, &s.join(" ")).tokens;
            let expected: Vec<String> = s
                .iter()
                .map(|t| match self.lex.number_words.get(t) {
                    Some(v) => super::normalize::number_token(*v),
                    None => t.clone(),
                })
                .collect();
            if again != expected {
                self.err(
                    format!("words.{}", s.join(" ")),
                    format!(
                        "the standard word reads as `{}`: choose a standard word that is read as itself",
                        again.join(" ")
                    ),
                );
            }
        }
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
"#;

    #[test]
    fn a_small_lexicon_loads() {
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
