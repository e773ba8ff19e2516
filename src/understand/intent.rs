//! Intents: which service a free sentence names ("sy mau ngadu soal data" -> pengaduan), from
//! the `[intent]` words of each dialog file. The scoring, for a newcomer:
//!
//! - each **phrase** of the dialog found in the message (its words in order, typos tolerated
//!   per word) scores **3**, or **2** when other words stand between its words (at most three
//!   between two of them: "data inflasi di web salah" has "data salah");
//! - each **keyword** found as a word (typos tolerated) scores **2**, unless a phrase of the same
//!   dialog already covers that word;
//! - each **pattern** (a regular expression on the message as typed) that matches scores **3**.
//!
//! The dialog with the highest score wins if it reaches **2**; equal highest scores give a tie
//! (the engine asks with just those). Numbers are not intents: a menu's "3" is read by
//! [`super::choose`] first.

use super::fuzzy::is_typo_of;
use super::lexicon::Lexicon;
use super::normalize::normalize;
use regex::Regex;
use std::collections::{HashMap, HashSet};

/// The intent words of one dialog, as its file gives them.
#[derive(Debug, Clone, Default)]
pub struct IntentText<'a> {
    /// The dialog id it starts.
    pub id: &'a str,
    /// Single words ("ngadu", "komplain").
    pub keywords: Vec<&'a str>,
    /// Several words in order ("beli data", "janji temu").
    pub phrases: Vec<&'a str>,
    /// Regular expressions on the message as typed (a case number, say).
    pub patterns: Vec<Regex>,
}

/// The intents of every dialog, prepared for scoring.
#[derive(Debug, Clone, Default)]
pub struct Intents {
    ids: Vec<String>,
    phrases: Vec<Vec<Vec<String>>>,
    patterns: Vec<Vec<Regex>>,
    /// Keyword -> the dialogs that list it.
    exact: HashMap<String, Vec<usize>>,
    /// Keywords by first letter, for typo tolerance.
    by_first: HashMap<char, Vec<(String, usize)>>,
    /// Every keyword and phrase word: such a word is never read as a typo of another.
    vocab: HashSet<String>,
}

/// Which dialog a sentence asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentReading {
    /// One dialog (its id).
    Dialog(String),
    /// Equally likely dialogs: ask with just these.
    Tie(Vec<String>),
    /// No service named.
    None,
}

/// The lowest score that names a service.
pub const MIN_SCORE: u32 = 2;
const PHRASE: u32 = 3;
const GAPPED_PHRASE: u32 = 2;
/// The most other words between two words of a phrase.
const GAP: usize = 3;
const KEYWORD: u32 = 2;
const PATTERN: u32 = 3;

impl Intents {
    /// Prepares the intents (normalising every word once).
    pub fn new(lex: &Lexicon, list: &[IntentText]) -> Intents {
        let mut it = Intents::default();
        for (i, d) in list.iter().enumerate() {
            it.ids.push(d.id.to_string());
            it.phrases.push(
                d.phrases
                    .iter()
                    .map(|p| normalize(lex, p).tokens)
                    .filter(|t| !t.is_empty())
                    .collect(),
            );
            it.patterns.push(d.patterns.clone());
            for p in it.phrases.last().into_iter().flatten() {
                it.vocab.extend(p.iter().cloned());
            }
            for k in &d.keywords {
                for t in normalize(lex, k).tokens {
                    it.vocab.insert(t.clone());
                    let e = it.exact.entry(t.clone()).or_default();
                    if !e.contains(&i) {
                        e.push(i);
                    }
                    if let Some(c) = t.chars().next() {
                        it.by_first.entry(c).or_default().push((t, i));
                    }
                }
            }
        }
        it
    }

    fn same(&self, lex: &Lexicon, typed: &str, word: &str) -> bool {
        typed == word || (!self.vocab.contains(typed) && is_typo_of(lex, typed, word))
    }

    /// Where a phrase's words stand in the message, in order, with at most [`GAP`] other
    /// words between two of them (the tightest match from the earliest start).
    fn find_phrase(&self, lex: &Lexicon, p: &[String], t: &[String]) -> Option<Vec<usize>> {
        let mut best: Option<Vec<usize>> = None;
        for s in 0..t.len() {
            if !self.same(lex, &t[s], &p[0]) {
                continue;
            }
            let mut at = vec![s];
            for w in &p[1..] {
                let from = at[at.len() - 1] + 1;
                let to = (from + GAP + 1).min(t.len());
                match (from..to).find(|&j| self.same(lex, &t[j], w)) {
                    Some(j) => at.push(j),
                    None => break,
                }
            }
            if at.len() == p.len() {
                let span = at[at.len() - 1] - at[0];
                if best.as_ref().is_none_or(|b| span < b[b.len() - 1] - b[0]) {
                    best = Some(at);
                }
            }
        }
        best
    }

    /// Every dialog's score for a message, highest first (dialogs scoring 0 left out).
    pub fn scores(&self, lex: &Lexicon, text: &str) -> Vec<(String, u32)> {
        let t = normalize(lex, text).tokens;
        let mut score = vec![0u32; self.ids.len()];
        let mut covered = vec![vec![false; t.len()]; self.ids.len()];
        for (i, phrases) in self.phrases.iter().enumerate() {
            for p in phrases {
                if let Some(at) = self.find_phrase(lex, p, &t) {
                    let contiguous = at.windows(2).all(|w| w[1] == w[0] + 1);
                    score[i] += if contiguous { PHRASE } else { GAPPED_PHRASE };
                    for p in at {
                        covered[i][p] = true;
                    }
                }
            }
            if self.patterns[i].iter().any(|r| r.is_match(text)) {
                score[i] += PATTERN;
            }
        }
        let mut counted: Vec<Vec<&str>> = vec![Vec::new(); self.ids.len()];
        for (p, w) in t.iter().enumerate() {
            let mut hits: Vec<(usize, &str)> = self
                .exact
                .get(w)
                .map(|v| v.iter().map(|i| (*i, w.as_str())).collect())
                .unwrap_or_default();
            if hits.is_empty()
                && let Some(c) = w.chars().next()
            {
                hits = self
                    .by_first
                    .get(&c)
                    .map(|v| {
                        v.iter()
                            .filter(|(k, _)| is_typo_of(lex, w, k))
                            .map(|(k, i)| (*i, k.as_str()))
                            .collect()
                    })
                    .unwrap_or_default();
            }
            for (i, k) in hits {
                if !covered[i][p] && !counted[i].contains(&k) {
                    counted[i].push(k);
                    score[i] += KEYWORD;
                }
            }
        }
        let mut out: Vec<(String, u32)> = self
            .ids
            .iter()
            .cloned()
            .zip(score)
            .filter(|(_, s)| *s > 0)
            .collect();
        out.sort_by_key(|x| std::cmp::Reverse(x.1));
        out
    }
}

/// The dialog a sentence names (see the module documentation for the scoring).
pub fn intent(lex: &Lexicon, intents: &Intents, text: &str) -> IntentReading {
    let scores = intents.scores(lex, text);
    let Some(&(_, best)) = scores.first() else {
        return IntentReading::None;
    };
    if best < MIN_SCORE {
        return IntentReading::None;
    }
    let top: Vec<String> = scores
        .into_iter()
        .filter(|(_, s)| *s == best)
        .map(|(id, _)| id)
        .collect();
    if top.len() == 1 {
        IntentReading::Dialog(top[0].clone())
    } else {
        IntentReading::Tie(top)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;

    fn intents() -> Intents {
        Intents::new(
            test_lexicon(),
            &[
                IntentText {
                    id: "pengaduan",
                    keywords: vec!["ngadu", "komplain", "keluhan", "lapor", "pengaduan"],
                    phrases: vec![],
                    patterns: vec![],
                },
                IntentText {
                    id: "produk",
                    keywords: vec!["beli", "susenas"],
                    phrases: vec!["beli data", "data mikro"],
                    patterns: vec![],
                },
                IntentText {
                    id: "status",
                    keywords: vec!["status", "lacak"],
                    phrases: vec!["cek status", "sampai mana"],
                    patterns: vec![Regex::new(r"(?i)\b(REK|PRD|ADU)-\d{4}-\d+").unwrap()],
                },
            ],
        )
    }

    #[test]
    fn scoring() {
        let lex = test_lexicon();
        let it = intents();
        let read = |s| intent(lex, &it, s);
        let d = |s: &str| IntentReading::Dialog(s.into());
        assert_eq!(read("sy mau ngadu"), d("pengaduan"));
        assert_eq!(read("pengadun"), d("pengaduan"));
        assert_eq!(read("komplen"), d("pengaduan"));
        assert_eq!(read("beli data mikro susenas"), d("produk"));
        assert_eq!(read("status REK-2026-000012"), d("status"));
        assert_eq!(read("permohonan sy udh sampai mana ya"), d("status"));
        assert_eq!(
            read("mau lapor status"),
            IntentReading::Tie(vec!["pengaduan".into(), "status".into()])
        );
        assert_eq!(read("asdfghjkl"), IntentReading::None);
        assert_eq!(read("halo"), IntentReading::None);
        assert_eq!(it.scores(lex, "beli data")[0], ("produk".to_string(), 3));
    }
}
