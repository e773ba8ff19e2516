//! Reading `dialogs/lexicon.toml` into a [`Lexicon`]: the file's shape (serde), then two
//! passes. The first builds what normalisation needs (slang, known words, emoji, numbers); the
//! second normalises every list with it, so an office may write an entry as people type it.
//! Every problem is collected with its entry named, so the office fixes them in one go.

use super::command::GlobalCommand;
use super::lexicon::{Lexicon, LexiconError, Phrases, is_modifier};
use super::normalize::{normalize, number_token, pieces, tokenize_raw};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

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
    chat: RawChat,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChat {
    greetings: Vec<String>,
    thanks: Vec<String>,
    acknowledgements: Vec<String>,
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
    /// Optional in the file: a lexicon written before it existed still loads.
    #[serde(default)]
    me: Vec<String>,
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

/// The keys of `[dates] weekdays` and `months`, in calendar order.
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

/// Parses and validates lexicon TOML (see [`Lexicon::parse`]).
pub(super) fn build(file: &str, text: &str) -> Result<Lexicon, Vec<LexiconError>> {
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
        self.fillers(raw);
        self.answers(raw);
        self.questions(raw);
        self.dates(raw);
        self.commands(raw);
        self.email_domains(raw);
        self.check_standards();
    }

    /// The fillers: words (and phrases) that carry nothing.
    fn fillers(&mut self, raw: &RawLexicon) {
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
    }

    /// Yes, no, skip and the other answers, and the chat words; yes/no and confirm/change must not overlap.
    fn answers(&mut self, raw: &RawLexicon) {
        let a = &raw.answers;
        self.lex.approximately = self.phrases("numbers.approximately", &raw.numbers.approximately);
        self.lex.greetings = self.phrases("chat.greetings", &raw.chat.greetings);
        self.lex.thanks = self.phrases("chat.thanks", &raw.chat.thanks);
        self.lex.acknowledgements =
            self.phrases("chat.acknowledgements", &raw.chat.acknowledgements);
        self.lex.yes = self.phrases("answers.yes", &a.yes);
        self.lex.no = self.phrases("answers.no", &a.no);
        self.lex.unsure = self.phrases("answers.unsure", &a.unsure);
        self.lex.skip = self.phrases("answers.skip", &a.skip);
        self.lex.confirm = self.phrases("answers.confirm", &a.confirm);
        self.lex.change = self.phrases("answers.change", &a.change);
        self.lex.done = self.phrases("answers.done", &a.done);
        if !a.me.is_empty() {
            self.lex.me = self.phrases("answers.me", &a.me);
        }
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
    }

    /// What marks a question.
    fn questions(&mut self, raw: &RawLexicon) {
        let q = &raw.questions;
        self.lex.question_words = self.phrases("questions.words", &q.words);
        self.lex.openers = self.phrases("questions.openers", &q.openers);
        self.lex.tags = self.phrases("questions.tags", &q.tags);
        self.lex.not_questions = self.phrases("questions.not_questions", &q.not_questions);
    }

    /// Relative days, units, weekdays and months.
    fn dates(&mut self, raw: &RawLexicon) {
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
    }

    /// The anywhere-commands in everyday words: each phrase the form of one command.
    fn commands(&mut self, raw: &RawLexicon) {
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
    }

    /// The mail domains a typo is compared with.
    fn email_domains(&mut self, raw: &RawLexicon) {
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
    }

    /// Normalising a standard word must give it back, or messages would not normalise the same way twice.
    fn check_standards(&mut self) {
        let standards: Vec<Vec<String>> = self.lex.slang.values().cloned().collect();
        for s in standards {
            let again = normalize(&self.lex, &s.join(" ")).tokens;
            let expected: Vec<String> = s
                .iter()
                .map(|t| match self.lex.number_words.get(t) {
                    Some(v) => number_token(*v),
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
