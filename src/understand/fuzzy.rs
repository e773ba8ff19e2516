//! Typo tolerance: when a typed word counts as a known word. The rule, for an office to
//! predict: the same first letter, and at most one slip (a letter missing, extra, wrong, or two
//! letters swapped) for known words of 4–7 letters, two for longer words, none for words of 3
//! letters or fewer. Words with digits are never corrected, and neither is a word listed in the
//! lexicon's `[known]` (it is a real word of its own).

use super::lexicon::Lexicon;

/// How many slips a known word of `len` letters tolerates.
pub(super) fn typo_budget(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Whether `typed` is `word`, exactly or within the typo budget of `word`.
pub(super) fn same_word(lex: &Lexicon, typed: &str, word: &str) -> bool {
    typed == word || is_typo_of(lex, typed, word)
}

/// Whether `typed` (not equal to `word`) is a typo of `word`.
pub(super) fn is_typo_of(lex: &Lexicon, typed: &str, word: &str) -> bool {
    let wl = word.chars().count();
    let budget = typo_budget(wl);
    if budget == 0 || typed.chars().count().abs_diff(wl) > budget {
        return false;
    }
    if typed.chars().next() != word.chars().next()
        || !typed.chars().all(char::is_alphabetic)
        || !word.chars().all(char::is_alphabetic)
        || lex.is_known(typed)
    {
        return false;
    }
    within(typed, word, budget)
}

/// Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one
/// substring) of `a` and `b`, compared with `max`; stops early once every path exceeds it.
pub(super) fn within(a: &str, b: &str, max: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let w = b.len() + 1;
    let mut prev2 = vec![0usize; w];
    let mut prev: Vec<usize> = (0..w).collect();
    let mut cur = vec![0usize; w];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return false;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] <= max
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;

    #[test]
    fn distances() {
        assert!(within("gmial.com", "gmail.com", 1));
        assert!(within("gmailcom", "gmail.com", 1));
        assert!(within("rekomendsi", "rekomendasi", 1));
        assert!(!within("abc", "xyz", 2));
        assert!(within("", "ab", 2));
        assert!(!within("", "abc", 2));
    }

    #[test]
    fn budget_scales_with_length() {
        let lex = test_lexicon();
        assert!(same_word(lex, "pengadun", "pengaduan"));
        assert!(same_word(lex, "komplen", "komplain"));
        assert!(same_word(lex, "novmber", "november"));
        assert!(!same_word(lex, "pr", "pria"));
        assert!(!same_word(lex, "sma", "smp"));
        assert!(
            !same_word(lex, "dana", "data"),
            "a known word is not a typo"
        );
        assert!(!same_word(lex, "s2", "s3"));
        assert!(!same_word(lex, "bulan", "bulanan"));
    }
}
