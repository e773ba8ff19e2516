//! Options that are ranges of numbers (age groups "20–29 tahun", "<20", "60+") and the numbers
//! people give for them: "35", "umur sy 42 thn", "20an", "udah 60 lebih", "di bawah 20",
//! "30-39", "kepala 3".

use super::lexicon::Lexicon;
use super::numbers::numbers_in;
use regex::Regex;
use std::sync::LazyLock;

/// An inclusive range of whole numbers; `i64::MIN` / `i64::MAX` for an open end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Range {
    pub lo: i64,
    pub hi: i64,
}

impl Range {
    fn new(lo: i64, hi: i64) -> Option<Range> {
        (lo <= hi).then_some(Range { lo, hi })
    }
    fn below(n: i64) -> Option<Range> {
        Range::new(i64::MIN, n - 1)
    }
    fn from(n: i64) -> Option<Range> {
        Range::new(n, i64::MAX)
    }
    /// Whether `other` lies inside this range.
    pub fn contains(&self, other: &Range) -> bool {
        self.lo <= other.lo && other.hi <= self.hi
    }
    /// Whether the two ranges share a number.
    pub fn overlaps(&self, other: &Range) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }
}

fn re(s: &str) -> Regex {
    Regex::new(s).expect("a valid built-in pattern")
}

static SPAN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\d{1,3})\s*(?:-|–|—|s/?d|sampai|sampe|hingga|to)\s*(\d{1,3})"));
static UNDER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:<|di ?bawah|kurang dari|belum|under|below|less than)\s*(\d{1,3})"));
static OVER_BEFORE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:di ?atas|lebih dari|over|above|more than|>)\s*(\d{1,3})"));
static FROM: LazyLock<Regex> = LazyLock::new(|| re(r"(?:>=|≥)\s*(\d{1,3})"));
static OVER_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(\d{1,3})\s*(?:\+|(?:tahun )?(?:lebih|ke ?atas|plus|and over|or more|and above|or older))")
});
static ALMOST: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:hampir|almost|nearly|menjelang|jelang)\s*(\d{1,3})"));
static DECADE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|\s)(\d{1,2})0\s*-?\s*an\b|kepala (\d)\b"));

fn num(c: &regex::Captures, i: usize) -> Option<i64> {
    c.get(i)?.as_str().parse().ok()
}

/// The range an option stands for, read from its value then its labels: "20-29",
/// "20–29 tahun", "<20", "Di bawah 20 tahun", "60+", "60 tahun ke atas", "60 and over".
pub(super) fn option_range(value: &str, labels: &[&str]) -> Option<Range> {
    std::iter::once(value)
        .chain(labels.iter().copied())
        .find_map(|s| read_range(&s.to_lowercase(), true))
}

/// A range in a text; `whole` asks for it to start the text (an option label).
fn read_range(s: &str, whole: bool) -> Option<Range> {
    let at_start = |m: regex::Match| !whole || s[..m.start()].trim().is_empty();
    if let Some(c) = SPAN.captures(s)
        && at_start(c.get(0)?)
    {
        return Range::new(num(&c, 1)?, num(&c, 2)?);
    }
    if let Some(c) = UNDER.captures(s)
        && at_start(c.get(0)?)
    {
        return Range::below(num(&c, 1)?);
    }
    if let Some(c) = FROM.captures(s)
        && at_start(c.get(0)?)
    {
        return Range::from(num(&c, 1)?);
    }
    if let Some(c) = OVER_BEFORE.captures(s)
        && at_start(c.get(0)?)
    {
        return Range::from(num(&c, 1)? + 1);
    }
    if let Some(c) = OVER_AFTER.captures(s)
        && at_start(c.get(0)?)
    {
        return Range::from(num(&c, 1)?);
    }
    None
}

/// The number or range a person gave, from the original text and its tokens; `None` when there
/// is no number, or several that do not form a range.
pub(super) fn interval(lex: &Lexicon, tokens: &[String], original: &str) -> Option<Range> {
    let raw = original.to_lowercase();
    if let Some(c) = SPAN.captures(&raw) {
        return Range::new(num(&c, 1)?, num(&c, 2)?);
    }
    // Without the words that only say "about" ("kurang lebih 60" is 60, not "60 or more").
    let mut kept: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match lex.approximately.longest_at(tokens, i) {
            Some(n) => i += n,
            None => {
                kept.push(tokens[i].clone());
                i += 1;
            }
        }
    }
    let s = kept.join(" ");
    if let Some(c) = ALMOST.captures(&s) {
        let n = num(&c, 1)?;
        return Range::new(n - 5, n - 1);
    }
    if let Some(c) = DECADE.captures(&s) {
        let d = num(&c, 1).or_else(|| num(&c, 2))?;
        return Range::new(d * 10, d * 10 + 9);
    }
    if let Some(r) = read_range(&s, false).or_else(|| read_range(&raw, false)) {
        return Some(r);
    }
    match numbers_in(lex, &kept).as_slice() {
        [one] if one.value.fract() == 0.0 && (1.0..=120.0).contains(&one.value) => {
            let n = one.value as i64;
            Range::new(n, n)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::normalize::normalize;
    use super::super::test_lexicon;
    use super::*;

    fn iv(s: &str) -> Option<(i64, i64)> {
        let lex = test_lexicon();
        interval(lex, &normalize(lex, s).tokens, s).map(|r| (r.lo, r.hi))
    }

    #[test]
    fn options() {
        let r = |v: &str, l: &str| option_range(v, &[l]).map(|r| (r.lo, r.hi));
        assert_eq!(r("<20", "Di bawah 20 tahun"), Some((i64::MIN, 19)));
        assert_eq!(r("20-29", "20–29 tahun"), Some((20, 29)));
        assert_eq!(r("60+", "60 tahun ke atas"), Some((60, i64::MAX)));
        assert_eq!(r("x", "60 and over"), Some((60, i64::MAX)));
        assert_eq!(r("x", "Under 20"), Some((i64::MIN, 19)));
        assert_eq!(r("3", "3 – Cukup puas"), None);
        assert_eq!(r("sma", "SLTA/sederajat ke bawah"), None);
    }

    #[test]
    fn what_people_type() {
        let max = i64::MAX;
        assert_eq!(iv("35"), Some((35, 35)));
        assert_eq!(iv("umur sy 42 thn"), Some((42, 42)));
        assert_eq!(iv("dua puluh lima"), Some((25, 25)));
        assert_eq!(iv("20an"), Some((20, 29)));
        assert_eq!(iv("umur 30-an"), Some((30, 39)));
        assert_eq!(iv("kepala 4"), Some((40, 49)));
        assert_eq!(iv("udah 60 lebih"), Some((60, max)));
        assert_eq!(iv("lebih dari 60 tahun"), Some((61, max)));
        assert_eq!(iv("di bawah 20"), Some((i64::MIN, 19)));
        assert_eq!(iv("30-39"), Some((30, 39)));
        assert_eq!(iv("kurang lebih 45"), Some((45, 45)));
        assert_eq!(iv("masih 17 tahun"), Some((17, 17)));
        assert_eq!(iv("60+"), Some((60, max)));
        assert_eq!(iv("hampir 30"), Some((25, 29)));
        assert_eq!(iv("150"), None, "not an age");
        assert_eq!(iv("20 atau 30"), None);
        assert_eq!(iv("muda"), None);
    }
}
