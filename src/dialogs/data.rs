//! The data files the dialogs read from `dialogs/data/`: the PNBP product catalog, the FAQ and
//! the list of activities that already received a recommendation. Each is validated when loaded.

use crate::text::{I18n, LoadError};
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

fn read(path: &Path) -> Result<(String, String), LoadError> {
    let name = format!(
        "data/{}",
        path.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    );
    match std::fs::read_to_string(path) {
        Ok(t) => Ok((name, t)),
        Err(e) => Err(LoadError {
            file: name,
            step: None,
            problem: format!("cannot read: {e}"),
        }),
    }
}

fn problem(file: &str, p: impl Into<String>) -> LoadError {
    LoadError {
        file: file.to_string(),
        step: None,
        problem: p.into(),
    }
}

fn missing_lang(file: &str, what: &str, t: &I18n, languages: &[String]) -> Option<LoadError> {
    languages
        .iter()
        .find(|l| t.get(*l).is_none_or(|s| s.trim().is_empty()))
        .map(|l| problem(file, format!("{what} has no `{l}` translation")))
}

/// One paid statistical product with its PNBP tariff.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub code: String,
    pub name: I18n,
    pub unit: I18n,
    /// Tariff per unit in rupiah.
    pub tariff: u64,
    #[serde(default = "default_max_quantity")]
    pub max_quantity: u32,
    /// Keys into the catalog's `documents` table.
    #[serde(default)]
    pub documents: Vec<String>,
    /// Other words people use for it in the cart ("susenas", "peta"), read by
    /// `crate::understand`.
    #[serde(default)]
    pub also: Vec<String>,
}

fn default_max_quantity() -> u32 {
    1000
}

/// The PNBP product catalog (`data/catalog.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Where the tariffs come from (the regulation), shown to the applicant.
    pub source: I18n,
    pub products: Vec<Product>,
    /// Required documents by key.
    #[serde(default)]
    pub documents: BTreeMap<String, I18n>,
}

impl Catalog {
    pub fn load(path: &Path, languages: &[String]) -> Result<Catalog, LoadError> {
        let (file, text) = read(path)?;
        let c: Catalog =
            toml::from_str(&text).map_err(|e| problem(&file, e.message().to_string()))?;
        if let Some(e) = missing_lang(&file, "source", &c.source, languages) {
            return Err(e);
        }
        if c.products.is_empty() {
            return Err(problem(&file, "the catalog has no products"));
        }
        let mut codes = std::collections::BTreeSet::new();
        for p in &c.products {
            if !codes.insert(p.code.to_lowercase()) {
                return Err(problem(
                    &file,
                    format!("product code `{}` is used twice", p.code),
                ));
            }
            for (what, t) in [("name", &p.name), ("unit", &p.unit)] {
                if let Some(e) =
                    missing_lang(&file, &format!("product `{}` {what}", p.code), t, languages)
                {
                    return Err(e);
                }
            }
            if p.max_quantity == 0 {
                return Err(problem(
                    &file,
                    format!("product `{}` max_quantity must be at least 1", p.code),
                ));
            }
            for d in &p.documents {
                if !c.documents.contains_key(d) {
                    return Err(problem(
                        &file,
                        format!("product `{}` needs unknown document `{d}`", p.code),
                    ));
                }
            }
        }
        for (k, t) in &c.documents {
            if let Some(e) = missing_lang(&file, &format!("document `{k}`"), t, languages) {
                return Err(e);
            }
        }
        Ok(c)
    }

    pub fn product(&self, code: &str) -> Option<&Product> {
        self.products
            .iter()
            .find(|p| p.code.eq_ignore_ascii_case(code))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaqEntry {
    id: String,
    #[serde(default)]
    keywords: Vec<String>,
    pattern: Option<String>,
    question: I18n,
    answer: I18n,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaq {
    entries: Vec<RawFaqEntry>,
}

/// One FAQ entry: matched by keywords (whole words, any language) or a regex.
#[derive(Debug, Clone)]
pub struct FaqEntry {
    pub id: String,
    pub keywords: Vec<String>,
    pub pattern: Option<Regex>,
    pub question: I18n,
    pub answer: I18n,
}

/// The FAQ (`data/faq.toml`).
#[derive(Debug, Clone)]
pub struct Faq {
    pub entries: Vec<FaqEntry>,
}

impl Faq {
    pub fn load(path: &Path, languages: &[String]) -> Result<Faq, LoadError> {
        let (file, text) = read(path)?;
        let raw: RawFaq =
            toml::from_str(&text).map_err(|e| problem(&file, e.message().to_string()))?;
        let mut entries = Vec::new();
        for e in raw.entries {
            for (what, t) in [("question", &e.question), ("answer", &e.answer)] {
                if let Some(err) =
                    missing_lang(&file, &format!("entry `{}` {what}", e.id), t, languages)
                {
                    return Err(err);
                }
            }
            let pattern = match &e.pattern {
                Some(p) => Some(Regex::new(p).map_err(|_| {
                    problem(&file, format!("entry `{}` pattern does not compile", e.id))
                })?),
                None => None,
            };
            if e.keywords.is_empty() && pattern.is_none() {
                return Err(problem(
                    &file,
                    format!("entry `{}` needs keywords or a pattern", e.id),
                ));
            }
            entries.push(FaqEntry {
                id: e.id,
                keywords: e.keywords.iter().map(|k| k.to_lowercase()).collect(),
                pattern,
                question: e.question,
                answer: e.answer,
            });
        }
        Ok(Faq { entries })
    }

    /// The best-matching entry for a question: a regex match counts 2, each keyword found as a
    /// word (or as a phrase, for keywords with spaces) counts 1; ties go to the earlier entry.
    pub fn best_match(&self, question: &str) -> Option<&FaqEntry> {
        self.scored_match(question).map(|(_, e)| e)
    }

    /// The best-matching entry with its score (see [`Faq::best_match`]).
    pub fn scored_match(&self, question: &str) -> Option<(usize, &FaqEntry)> {
        let lower = question.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let mut best: Option<(usize, &FaqEntry)> = None;
        for e in &self.entries {
            let mut score = 0;
            if e.pattern.as_ref().is_some_and(|p| p.is_match(question)) {
                score += 2;
            }
            for k in &e.keywords {
                let hit = if k.contains(' ') {
                    lower.contains(k.as_str())
                } else {
                    words.iter().any(|w| w == k)
                };
                if hit {
                    score += 1;
                }
            }
            if score > 0 && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, e));
            }
        }
        best
    }

    /// Like [`Faq::scored_match`], but also on the question's normalised words (issue 19):
    /// "kantornya dmn" finds the keywords `kantor` and `dimana`, "brp lama" the phrase
    /// `berapa lama`. Keywords are compared as written (standard words), so a message is
    /// normalised once and no keyword per call.
    pub fn scored_match_normalized(
        &self,
        lex: &crate::understand::Lexicon,
        question: &str,
    ) -> Option<(usize, &FaqEntry)> {
        use crate::understand::normalize;
        let lower = question.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let norm = normalize(lex, question);
        let joined = format!(" {} ", norm.text());
        let mut best: Option<(usize, &FaqEntry)> = None;
        for e in &self.entries {
            let mut score = 0;
            if e.pattern.as_ref().is_some_and(|p| p.is_match(question)) {
                score += 2;
            }
            for k in &e.keywords {
                let hit = if k.contains(' ') {
                    lower.contains(k.as_str()) || joined.contains(&format!(" {k} "))
                } else {
                    words.iter().any(|w| w == k) || norm.tokens.iter().any(|t| t == k)
                };
                if hit {
                    score += 1;
                }
            }
            if score > 0 && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, e));
            }
        }
        best
    }
}

/// A statistical activity that already received a recommendation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub title: String,
    pub organiser: String,
    pub year: i32,
    /// The recommendation letter's number, when it is public.
    pub letter: Option<String>,
}

/// The activities file (`data/activities.toml`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activities {
    pub activities: Vec<Activity>,
}

impl Activities {
    pub fn load(path: &Path) -> Result<Activities, LoadError> {
        let (file, text) = read(path)?;
        toml::from_str(&text).map_err(|e| problem(&file, e.message().to_string()))
    }
}

/// Ranks activities by how many words of the query appear in their title or organiser.
pub fn search_activities<'a>(
    items: &'a [Activity],
    query: &str,
    limit: usize,
) -> Vec<&'a Activity> {
    let terms: Vec<String> = query
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_string)
        .collect();
    if terms.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(usize, &Activity)> = items
        .iter()
        .filter_map(|a| {
            let hay = format!("{} {}", a.title, a.organiser).to_lowercase();
            let n = terms.iter().filter(|t| hay.contains(t.as_str())).count();
            (n > 0).then_some((n, a))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.year.cmp(&a.1.year)));
    scored.into_iter().take(limit).map(|(_, a)| a).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i18n(s: &str) -> I18n {
        [
            ("id".to_string(), s.to_string()),
            ("en".to_string(), s.to_string()),
        ]
        .into()
    }

    #[test]
    fn faq_prefers_more_keywords_and_whole_words() {
        let faq = Faq {
            entries: vec![
                FaqEntry {
                    id: "hours".into(),
                    keywords: vec!["jam".into(), "buka".into()],
                    pattern: None,
                    question: i18n("q"),
                    answer: i18n("hours"),
                },
                FaqEntry {
                    id: "cost".into(),
                    keywords: vec!["biaya".into(), "tarif".into(), "jam".into()],
                    pattern: None,
                    question: i18n("q"),
                    answer: i18n("cost"),
                },
            ],
        };
        assert_eq!(faq.best_match("Jam berapa PST buka?").unwrap().id, "hours");
        assert_eq!(
            faq.best_match("berapa tarif dan biaya?").unwrap().id,
            "cost"
        );
        assert!(faq.best_match("jamban").is_none());
    }

    #[test]
    fn faq_matches_normalised_words() {
        let lex = crate::understand::Lexicon::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogs/lexicon.toml"),
        )
        .unwrap();
        let entry = |id: &str, keywords: &[&str]| FaqEntry {
            id: id.into(),
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            pattern: None,
            question: i18n("q"),
            answer: i18n("a"),
        };
        let faq = Faq {
            entries: vec![
                entry("alamat", &["alamat", "kantor", "dimana"]),
                entry("lama", &["berapa lama", "telp"]),
            ],
        };
        let best = |q: &str| {
            faq.scored_match_normalized(&lex, q)
                .map(|(s, e)| (s, e.id.clone()))
        };
        assert_eq!(best("kantornya dmn ya?"), Some((2, "alamat".into())));
        assert_eq!(best("brp lama ya"), Some((1, "lama".into())));
        assert_eq!(
            best("no telp"),
            Some((1, "lama".into())),
            "a keyword as typed"
        );
        assert_eq!(faq.scored_match("kantornya dmn ya?").map(|(s, _)| s), None);
        assert_eq!(best("halo"), None);
    }

    #[test]
    fn activity_search_ranks_by_matching_words() {
        let items = vec![
            Activity {
                title: "Survei Kepuasan Masyarakat".into(),
                organiser: "Dinas Kominfo".into(),
                year: 2024,
                letter: None,
            },
            Activity {
                title: "Survei Harga Pangan".into(),
                organiser: "Dinas Pangan".into(),
                year: 2025,
                letter: None,
            },
        ];
        let hits = search_activities(&items, "survei pangan", 5);
        assert_eq!(hits[0].title, "Survei Harga Pangan");
        assert_eq!(hits.len(), 2);
        assert!(search_activities(&items, "ab", 5).is_empty());
    }
}
