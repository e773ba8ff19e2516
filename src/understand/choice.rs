//! Choosing options from what was typed. Build a [`Choices`] once per choice step (or per
//! catalog) from its options' values, labels and `also` words, then [`choose`] per message.
//!
//! How an option is found, in order:
//! 1. **A number**: "2", "no 1", "2.", "tiga", "pertama", "1 dan 3" / "1 3" (multiple), stars
//!    ("⭐⭐⭐⭐", "5 bintang") for options whose values are numbers.
//! 2. **A range** (options such as age groups): "35", "umur sy 42 thn", "20an", "60 lebih".
//! 3. **Words**. Every option has *names*: its value, each label in every language, its `also`
//!    words, and each part of a label split at `/` and brackets ("D4/S1" gives "d4" and "s1").
//!    A name found whole in the message counts 3 points per word (2 for a label part); a single
//!    word of a label found alone counts 1 ("pelayanan" for "Pelayanan petugas"). Typos are
//!    tolerated per word (see `fuzzy`), except for a word that is itself a word of some option.
//!    The option with the most points wins; equal points give a tie (the engine asks with just
//!    those options). Two options named as often in different places of the message ("tatap
//!    muka dan telepon" at a one-answer step) tie as well, unless one is named only by a word
//!    that three labels or more share. An option named right after a negation ("bukan pns",
//!    "kurang memuaskan") is never chosen. A label word alone decides only in a short message
//!    (at most three words): a longer message needs a whole name.
//!
//! Never a silent wrong capture: when in doubt the answer is `None` or `Tie`.

use super::lexicon::Lexicon;
use super::normalize::normalize;
use super::numbers::digits_value;
use super::ranges::{Range, interval, option_range};
use super::scoring::{PART, WHOLE, by_words};
use regex::Regex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

/// One option as the dialog file gives it.
#[derive(Debug, Clone, Default)]
pub struct OptionText<'a> {
    /// The stored value (`"L"`, `"d4-s1"`, `"20-29"`).
    pub value: &'a str,
    /// The label in every language.
    pub labels: Vec<&'a str>,
    /// Other words for it (`also = ["pria", "laki2", "cowok"]`).
    pub also: Vec<&'a str>,
}

/// The options of one step, prepared for matching.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub(super) options: Vec<Prepared>,
    /// Whether the options are ranges of numbers (age groups): numbers then mean a value.
    ranged: bool,
    /// Every word of every name: such a word is never read as a typo of another.
    pub(super) vocab: HashSet<String>,
    /// Label words of three options or more ("statistik", "data"): weak evidence.
    pub(super) weak: HashSet<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Prepared {
    /// Whole names (normalised, without fillers) with their points per word: value, labels
    /// and `also` 3, label parts 2.
    pub(super) names: Vec<(Vec<String>, u32)>,
    /// Single words of the labels that may name the option alone.
    pub(super) label_words: Vec<String>,
    /// The value as a number, for stars and scores ("4").
    number: Option<i64>,
    range: Option<Range>,
}

/// What a message chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChoiceReading {
    /// One option (its index).
    One(usize),
    /// Several options, in option order (multiple-choice steps).
    Several(Vec<usize>),
    /// Equally likely options: ask again with just these.
    Tie(Vec<usize>),
    /// Nothing understood.
    None,
}

/// How a step takes its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceMode {
    /// One option.
    Single,
    /// One or more options ("1 dan 3", "tatap muka, observasi").
    Multiple,
    /// Only a number or a whole name, nothing partial: for hubs such as the main menu, where
    /// free sentences are read as intents instead.
    Exact,
}

/// Label words too general to name an option alone.
const GENERAL: [&str; 16] = [
    "dan",
    "atau",
    "ke",
    "di",
    "dari",
    "per",
    "untuk",
    "the",
    "and",
    "or",
    "of",
    "dengan",
    "bawah",
    "atas",
    "se",
    "sederajat",
];
/// Words that say "the option number ...".
const POSITION: [&str; 10] = [
    "no", "nomor", "pilihan", "pilih", "opsi", "option", "angka", "jawaban", "ke", "nr",
];
/// Words between the numbers or names of several options.
const JOINERS: [&str; 8] = ["dan", "sama", "serta", "and", "atau", "or", "plus", "juga"];

static ENUMERATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\d+\s*[–—\-.)]\s+").expect("a valid built-in pattern"));

impl Choices {
    /// Prepares the options of a step (normalising every name once, not per message).
    pub fn new(lex: &Lexicon, options: &[OptionText]) -> Choices {
        let mut prepared: Vec<Prepared> = options
            .iter()
            .map(|o| {
                let mut names: Vec<(Vec<String>, u32)> = Vec::new();
                let mut label_words: Vec<String> = Vec::new();
                let add = |names: &mut Vec<(Vec<String>, u32)>, s: &str, points: u32| {
                    let t = content(lex, &normalize(lex, s).tokens);
                    if !t.is_empty()
                        && !t.iter().all(|w| is_int(w))
                        && !names.iter().any(|(n, _)| *n == t)
                    {
                        names.push((t, points));
                    }
                };
                add(&mut names, o.value, WHOLE);
                for a in &o.also {
                    add(&mut names, a, WHOLE);
                }
                for label in &o.labels {
                    add(&mut names, &ENUMERATOR.replace(label, ""), WHOLE);
                }
                for label in &o.labels {
                    let label = ENUMERATOR.replace(label, "");
                    for part in label.split(['/', '(', ')', ',']) {
                        add(&mut names, part, PART);
                    }
                    for w in content(lex, &normalize(lex, &label).tokens) {
                        if !GENERAL.contains(&w.as_str())
                            && !lex.negations.contains(&w)
                            && !is_int(&w)
                            && !label_words.contains(&w)
                        {
                            label_words.push(w);
                        }
                    }
                }
                Prepared {
                    names,
                    label_words,
                    number: o.value.trim().parse().ok(),
                    range: option_range(o.value, &o.labels),
                }
            })
            .collect();
        let ranges: Vec<Range> = prepared.iter().filter_map(|p| p.range).collect();
        let disjoint = ranges
            .iter()
            .enumerate()
            .all(|(i, a)| ranges[i + 1..].iter().all(|b| !a.overlaps(b)));
        let ranged = ranges.len() >= 2 && disjoint;
        if !ranged {
            for p in &mut prepared {
                p.range = None;
            }
        }
        let vocab = prepared
            .iter()
            .flat_map(|p| {
                p.names
                    .iter()
                    .flat_map(|(n, _)| n.iter())
                    .chain(p.label_words.iter())
                    .cloned()
            })
            .collect();
        let mut shared: HashMap<&str, usize> = HashMap::new();
        for p in &prepared {
            for w in &p.label_words {
                *shared.entry(w.as_str()).or_default() += 1;
            }
        }
        let weak = shared
            .into_iter()
            .filter(|(_, n)| *n >= 3)
            .map(|(w, _)| w.to_string())
            .collect();
        Choices {
            options: prepared,
            ranged,
            vocab,
            weak,
        }
    }

    /// How many options there are.
    pub fn len(&self) -> usize {
        self.options.len()
    }

    /// Whether there are no options.
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }
}

fn is_int(t: &str) -> bool {
    !t.is_empty() && t.len() <= 9 && t.chars().all(|c| c.is_ascii_digit())
}

/// The tokens without fillers (kept as they are when nothing else is left).
pub(super) fn content(lex: &Lexicon, tokens: &[String]) -> Vec<String> {
    let c = lex.without_fillers(tokens);
    if c.is_empty() { tokens.to_vec() } else { c }
}

/// The option(s) a message chooses (see the module documentation for the rules).
pub fn choose(lex: &Lexicon, choices: &Choices, text: &str, mode: ChoiceMode) -> ChoiceReading {
    let n = normalize(lex, text);
    if n.tokens.is_empty() || choices.is_empty() {
        return ChoiceReading::None;
    }
    if let Some(r) = by_number(choices, &content(lex, &n.tokens), mode) {
        return r;
    }
    if choices.ranged && n.tokens.iter().any(|t| digits_value(t).is_some()) {
        return by_range(lex, choices, &n.tokens, text);
    }
    match mode {
        ChoiceMode::Exact => exact(lex, choices, &content(lex, &n.tokens)),
        ChoiceMode::Single => by_words(lex, choices, &content(lex, &n.tokens)).reading,
        ChoiceMode::Multiple => several(lex, choices, text, &n.tokens),
    }
}

/// Numbers as option positions (or values, for stars); `None` when the message is not only
/// numbers.
pub(super) fn by_number(
    choices: &Choices,
    c: &[String],
    mode: ChoiceMode,
) -> Option<ChoiceReading> {
    let has_digit = c.iter().any(|t| is_int(t));
    let mut explicit = false;
    let mut nums: Vec<i64> = Vec::new();
    let mut stars = 0;
    for t in c {
        if has_digit && POSITION.contains(&t.as_str()) {
            explicit = true;
        } else if JOINERS.contains(&t.as_str()) {
        } else if t == "bintang" || t == "star" || t == "stars" {
            stars += 1;
        } else if is_int(t) {
            nums.push(t.parse().ok()?);
        } else if mode == ChoiceMode::Multiple
            && t.split([',', '.']).all(|p| is_int(p) && p.len() <= 2)
        {
            for p in t.split([',', '.']) {
                nums.push(p.parse().ok()?);
            }
        } else {
            return None;
        }
    }
    let by_value = |k: i64| -> Option<usize> {
        choices
            .options
            .iter()
            .position(|o| o.number == Some(k))
            .or_else(|| usize::try_from(k - 1).ok().filter(|i| *i < choices.len()))
    };
    if stars > 0 {
        if choices.options.iter().all(|o| o.number.is_none()) {
            return None;
        }
        let k = match nums.as_slice() {
            [] => stars,
            [k] if stars == 1 => *k,
            _ => return Some(ChoiceReading::None),
        };
        return Some(by_value(k).map_or(ChoiceReading::None, ChoiceReading::One));
    }
    let position = |k: i64| usize::try_from(k - 1).ok().filter(|i| *i < choices.len());
    if choices.ranged && !explicit && nums.iter().any(|k| position(*k).is_none()) {
        return None; // an age ("35", "30-39"), not a position
    }
    match (nums.as_slice(), mode) {
        ([], _) => None,
        ([k], _) => Some(position(*k).map_or(ChoiceReading::None, ChoiceReading::One)),
        (many, ChoiceMode::Multiple) => {
            let idx: Option<BTreeSet<usize>> = many.iter().map(|k| position(*k)).collect();
            Some(idx.map_or(ChoiceReading::None, |s| {
                ChoiceReading::Several(s.into_iter().collect())
            }))
        }
        (many, _) => {
            let idx: Option<BTreeSet<usize>> = many.iter().map(|k| position(*k)).collect();
            Some(match idx {
                Some(s) if s.len() >= 2 => ChoiceReading::Tie(s.into_iter().collect()),
                Some(s) if s.len() == 1 => ChoiceReading::One(*s.iter().next()?),
                _ => ChoiceReading::None,
            })
        }
    }
}

fn by_range(lex: &Lexicon, choices: &Choices, tokens: &[String], text: &str) -> ChoiceReading {
    let Some(r) = interval(lex, tokens, text) else {
        return ChoiceReading::None;
    };
    let hits: Vec<usize> = (0..choices.len())
        .filter(|&i| choices.options[i].range.is_some_and(|o| o.contains(&r)))
        .collect();
    match hits.as_slice() {
        [one] => ChoiceReading::One(*one),
        _ => ChoiceReading::None,
    }
}

fn exact(lex: &Lexicon, choices: &Choices, c: &[String]) -> ChoiceReading {
    let hits: Vec<usize> = (0..choices.len())
        .filter(|&i| {
            choices.options[i].names.iter().any(|(name, _)| {
                name.len() == c.len() && name.iter().zip(c).all(|(w, t)| choices.same(lex, t, w))
            })
        })
        .collect();
    verdict(hits)
}

fn verdict(hits: Vec<usize>) -> ChoiceReading {
    match hits.len() {
        0 => ChoiceReading::None,
        1 => ChoiceReading::One(hits[0]),
        _ => ChoiceReading::Tie(hits),
    }
}

fn several(lex: &Lexicon, choices: &Choices, text: &str, tokens: &[String]) -> ChoiceReading {
    let whole = by_words(lex, choices, &content(lex, tokens));
    if let (ChoiceReading::One(i), true) = (&whole.reading, whole.complete) {
        return ChoiceReading::Several(vec![*i]);
    }
    let mut chosen = BTreeSet::new();
    for piece in text.split([',', ';', '/', '&', '+', '\n']) {
        let toks = normalize(lex, piece).tokens;
        for seg in toks.split(|t| JOINERS.contains(&t.as_str())) {
            let c = lex.without_fillers(seg);
            if c.is_empty() {
                continue;
            }
            let r = by_number(choices, &c, ChoiceMode::Multiple)
                .unwrap_or_else(|| by_words(lex, choices, &c).reading);
            match r {
                ChoiceReading::One(i) => {
                    chosen.insert(i);
                }
                ChoiceReading::Several(v) => chosen.extend(v),
                _ => return ChoiceReading::None,
            }
        }
    }
    if chosen.is_empty() {
        ChoiceReading::None
    } else {
        ChoiceReading::Several(chosen.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;

    fn opts(list: &[(&'static str, &'static str, &'static str, &[&'static str])]) -> Choices {
        let o: Vec<OptionText> = list
            .iter()
            .map(|(v, id, en, also)| OptionText {
                value: v,
                labels: vec![id, en],
                also: also.to_vec(),
            })
            .collect();
        Choices::new(test_lexicon(), &o)
    }

    fn pick(c: &Choices, s: &str) -> ChoiceReading {
        choose(test_lexicon(), c, s, ChoiceMode::Single)
    }

    #[test]
    fn numbers_labels_and_partial_labels() {
        let edu = opts(&[
            (
                "sma",
                "SLTA/sederajat ke bawah",
                "Secondary school or below",
                &["smp"],
            ),
            ("d1-d3", "D1/D2/D3", "Diploma (D1–D3)", &[]),
            ("d4-s1", "D4/S1", "Bachelor (D4/S1)", &["sarjana"]),
            ("s2", "S2", "Master (S2)", &[]),
            ("s3", "S3", "Doctorate (S3)", &[]),
        ]);
        use ChoiceReading::*;
        for (s, r) in [
            ("1", One(0)),
            ("no 3", One(2)),
            ("3.", One(2)),
            ("tiga", One(2)),
            ("yang kedua", One(1)),
            ("S1", One(2)),
            ("s-2", One(3)),
            ("D3", One(1)),
            ("sarjna", One(2)),
            ("master", One(3)),
            ("lulusan smp", One(0)),
            ("9", None),
            ("asdf", None),
            ("1 atau 2", Tie(vec![0, 1])),
        ] {
            assert_eq!(pick(&edu, s), r, "{s}");
        }
    }

    #[test]
    fn ties_negations_and_long_messages() {
        let m = opts(&[
            (
                "tatap_muka",
                "Wawancara tatap muka",
                "Face-to-face interview",
                &["langsung"],
            ),
            ("telepon", "Wawancara telepon", "Telephone interview", &[]),
            (
                "mandiri",
                "Pengisian sendiri/daring",
                "Self-completion/online",
                &["google form"],
            ),
        ]);
        use ChoiceReading::*;
        assert_eq!(pick(&m, "wawancara"), Tie(vec![0, 1]));
        assert_eq!(pick(&m, "wawancara langsung"), One(0));
        assert_eq!(pick(&m, "tatap muka dan telepon"), Tie(vec![0, 1]));
        assert_eq!(pick(&m, "bukan telepon"), None);
        assert_eq!(
            pick(
                &m,
                "saya sudah wawancara banyak orang di kantor camat kemarin"
            ),
            None
        );
        let multi = |s| choose(test_lexicon(), &m, s, ChoiceMode::Multiple);
        assert_eq!(multi("1 dan 3"), Several(vec![0, 2]));
        assert_eq!(multi("1 3"), Several(vec![0, 2]));
        assert_eq!(multi("1,3"), Several(vec![0, 2]));
        assert_eq!(multi("wawancara langsung sama online"), Several(vec![0, 2]));
        assert_eq!(multi("telp"), Several(vec![1]));
        assert_eq!(multi("telepon, dan blablabla"), None);
        assert_eq!(multi("1 dan 7"), None);
    }

    #[test]
    fn ranges_and_stars() {
        let age = opts(&[
            ("<20", "Di bawah 20 tahun", "Under 20", &[]),
            ("20-29", "20–29 tahun", "20–29", &[]),
            ("30-39", "30–39 tahun", "30–39", &[]),
            ("60+", "60 tahun ke atas", "60 and over", &["lansia"]),
        ]);
        use ChoiceReading::*;
        assert_eq!(pick(&age, "35"), One(2));
        assert_eq!(pick(&age, "2"), One(1), "a small number is the position");
        assert_eq!(pick(&age, "umur 2 tahun"), One(0));
        assert_eq!(pick(&age, "45"), None, "no option holds it");
        assert_eq!(pick(&age, "hampir 30"), One(1));
        assert_eq!(pick(&age, "150"), None);
        assert_eq!(pick(&age, "lansia"), One(3));
        let score = opts(&[
            ("1", "1 – Sangat tidak puas", "1 – Very dissatisfied", &[]),
            ("2", "2 – Tidak puas", "2 – Dissatisfied", &["kurang puas"]),
            ("3", "3 – Cukup puas", "3 – Neutral", &["biasa"]),
            ("4", "4 – Puas", "4 – Satisfied", &[]),
            ("5", "5 – Sangat puas", "5 – Very satisfied", &[]),
        ]);
        assert_eq!(pick(&score, "⭐⭐⭐⭐"), One(3));
        assert_eq!(pick(&score, "5 bintang"), One(4));
        assert_eq!(pick(&score, "puasss"), One(3));
        assert_eq!(pick(&score, "sangat puas sekali"), One(4));
        assert_eq!(pick(&score, "sangat tidak puas"), One(0));
        assert_eq!(pick(&score, "tidak puas"), One(1));
        assert_eq!(pick(&score, "kurang puas"), One(1));
        assert_eq!(pick(&score, "biasa aja"), One(2));
    }

    #[test]
    fn exact_mode_takes_only_numbers_and_whole_names() {
        let menu = opts(&[
            (
                "rekomendasi",
                "Rekomendasi kegiatan statistik",
                "Statistical activity recommendation",
                &[],
            ),
            ("pengaduan", "Pengaduan", "Complaint", &["komplain"]),
            (
                "bukutamu",
                "Buku tamu / perbarui data saya",
                "Guest book / update my details",
                &[],
            ),
        ]);
        let exact = |s| choose(test_lexicon(), &menu, s, ChoiceMode::Exact);
        assert_eq!(exact("pengaduan!!"), ChoiceReading::One(1));
        assert_eq!(exact("No 1"), ChoiceReading::One(0));
        assert_eq!(exact("komplain"), ChoiceReading::One(1));
        assert_eq!(exact("mau beli data"), ChoiceReading::None);
        assert_eq!(exact("99"), ChoiceReading::None);
    }
}
