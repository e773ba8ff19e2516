//! How words name options, for [`super::choose`]: the points of whole names, label parts and
//! lone label words, negations, and when another option is a rival that makes a tie. The rules
//! are written out in the documentation of `choice.rs` (rule 3).

use super::choice::{ChoiceReading, Choices, Prepared};
use super::fuzzy::same_word;
use super::lexicon::Lexicon;

/// Points per word of a whole name, of a label part, and of a single label word.
pub(super) const WHOLE: u32 = 3;
pub(super) const PART: u32 = 2;
pub(super) const WORD: u32 = 1;

/// The result of reading words, with whether the winner's names cover every word.
pub(super) struct WordReading {
    pub reading: ChoiceReading,
    pub complete: bool,
}

/// One option's evidence in a message.
struct Evidence {
    score: u32,
    spans: Vec<(usize, usize)>,
    covered: Vec<bool>,
    negated: bool,
    /// How many separate things name it (whole names, lone label words) ...
    pieces: usize,
    /// ... and how many of those are not a label word shared by three options or more.
    strong_pieces: usize,
}

impl Choices {
    /// Whether a typed word is an option word: exactly, or as a typo unless it is itself a word
    /// of some option ("bappeda" is not a typo of "bappenas" when both are listed).
    pub(super) fn same(&self, lex: &Lexicon, typed: &str, word: &str) -> bool {
        typed == word || (!self.vocab.contains(typed) && same_word(lex, typed, word))
    }
}

fn evidence(lex: &Lexicon, choices: &Choices, o: &Prepared, c: &[String]) -> Evidence {
    let mut weight = vec![0u32; c.len()];
    let mut spans = Vec::new();
    for (name, points) in &o.names {
        if name.len() > c.len() {
            continue;
        }
        for s in 0..=c.len() - name.len() {
            if name
                .iter()
                .zip(&c[s..])
                .all(|(w, t)| choices.same(lex, t, w))
            {
                spans.push((s, s + name.len()));
                for w in &mut weight[s..s + name.len()] {
                    *w = (*w).max(*points);
                }
            }
        }
    }
    let mut words = 0;
    let mut strong_words = 0;
    for (p, t) in c.iter().enumerate() {
        if weight[p] == 0
            && let Some(w) = o.label_words.iter().find(|w| choices.same(lex, t, w))
        {
            weight[p] = WORD;
            words += 1;
            strong_words += usize::from(!choices.weak.contains(w));
        }
    }
    let mut maximal: Vec<(usize, usize)> = spans
        .iter()
        .copied()
        .filter(|&(s, e)| {
            !spans
                .iter()
                .any(|&(s2, e2)| s2 <= s && e <= e2 && e2 - s2 > e - s)
        })
        .collect();
    maximal.sort_unstable();
    maximal.dedup();
    let covered: Vec<bool> = weight.iter().map(|w| *w > 0).collect();
    let negated = (0..c.len()).any(|p| {
        covered[p] && (p == 0 || !covered[p - 1]) && p > 0 && lex.negations.contains(&c[p - 1])
    });
    Evidence {
        score: weight.iter().sum(),
        spans,
        covered,
        negated,
        pieces: maximal.len() + words,
        strong_pieces: maximal.len() + strong_words,
    }
}

/// Reads the option named by words (rule 3 of the module documentation).
pub(super) fn by_words(lex: &Lexicon, choices: &Choices, c: &[String]) -> WordReading {
    let none = WordReading {
        reading: ChoiceReading::None,
        complete: false,
    };
    let ev: Vec<Evidence> = choices
        .options
        .iter()
        .map(|o| evidence(lex, choices, o, c))
        .collect();
    let alive: Vec<usize> = (0..ev.len())
        .filter(|&i| ev[i].score > 0 && !ev[i].negated)
        .collect();
    let Some(best) = alive.iter().map(|&i| ev[i].score).max() else {
        return none;
    };
    let top: Vec<usize> = alive
        .iter()
        .copied()
        .filter(|&i| ev[i].score == best)
        .collect();
    if c.len() > 3 && top.iter().all(|&i| ev[i].spans.is_empty()) {
        return none;
    }
    if top.len() > 1 {
        if top.len() == choices.len() {
            return none;
        }
        return WordReading {
            reading: ChoiceReading::Tie(top),
            complete: false,
        };
    }
    let i = top[0];
    // Another option named as often, where the winner is not: both were meant, or one was
    // mistyped ("tatap muka dan telepon"). A word many labels share does not count
    // ("statistik"), nor does a rival named less often ("harga data mahal" is about the cost).
    let mut rivals: Vec<usize> = alive
        .iter()
        .copied()
        .filter(|&j| {
            j != i
                && ev[j].strong_pieces > 0
                && ev[j].pieces >= ev[i].pieces
                && (0..c.len()).any(|p| ev[j].covered[p] && !ev[i].covered[p])
        })
        .collect();
    if !rivals.is_empty() {
        rivals.push(i);
        rivals.sort_unstable();
        return WordReading {
            reading: ChoiceReading::Tie(rivals),
            complete: false,
        };
    }
    WordReading {
        reading: ChoiceReading::One(i),
        complete: ev[i].covered.iter().all(|c| *c),
    }
}
