//! A dialog file's `[intent]` table: the words that name the dialog in a free sentence
//! ("sy mau ngadu", "cek status"), scored by `crate::understand::intent`.

use crate::dialogs::spec::IntentWords;
use crate::text::LoadError;
use serde::Deserialize;

/// `[intent]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIntent {
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
}

/// Checks the `[intent]` table: words present, keywords one word each, phrases of two words or
/// more, patterns that compile.
pub(super) fn parse_intent(
    file: &str,
    raw: Option<&RawIntent>,
    errors: &mut Vec<LoadError>,
) -> IntentWords {
    let Some(raw) = raw else {
        return IntentWords::default();
    };
    let mut problem = |p: String| errors.push(LoadError::new(file, None, format!("intent: {p}")));
    for k in &raw.keywords {
        if k.trim().is_empty() || k.trim().contains(char::is_whitespace) {
            problem(format!(
                "keyword `{k}` must be one word (put several words in `phrases`)"
            ));
        }
    }
    for p in &raw.phrases {
        if p.split_whitespace().count() < 2 {
            problem(format!(
                "phrase `{p}` must have two words or more (put one word in `keywords`)"
            ));
        }
    }
    let mut patterns = Vec::new();
    for p in &raw.patterns {
        match regex::Regex::new(p) {
            Ok(r) => patterns.push(r),
            Err(e) => problem(format!(
                "pattern `{p}` does not compile: {}",
                e.to_string()
                    .lines()
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        }
    }
    if raw.keywords.is_empty() && raw.phrases.is_empty() && raw.patterns.is_empty() {
        problem("has no keywords, phrases or patterns".into());
    }
    IntentWords {
        keywords: raw.keywords.clone(),
        phrases: raw.phrases.clone(),
        patterns,
    }
}
