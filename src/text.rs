//! Words: the translations of a text ([`I18n`]), picking one language ([`pick`]), filling
//! placeholders ([`fill`]), the office-editable system texts ([`Texts`]) and the problems found
//! while loading text files ([`LoadError`]). A leaf: it uses no other module, so every layer
//! — channels included — can word things without reaching into the dialog engine.

use std::collections::BTreeMap;

/// Translations of one text, keyed by language code (`id`, `en`). Loaders guarantee an entry
/// for every configured language.
pub type I18n = BTreeMap<String, String>;

/// The text in `lang`, or in `fallback` when it has none.
pub fn pick(t: &I18n, lang: &str, fallback: &str) -> String {
    t.get(lang)
        .or_else(|| t.get(fallback))
        .or_else(|| t.values().next())
        .cloned()
        .unwrap_or_default()
}

/// The text in `lang` written for a channel `variant` (`id-sms`: shorter, for a message the
/// person pays for) when the file has one, else [`pick`].
pub fn pick_for(t: &I18n, lang: &str, fallback: &str, variant: Option<&str>) -> String {
    if let Some(v) = variant
        && let Some(s) = t.get(&format!("{lang}-{v}"))
    {
        return s.clone();
    }
    pick(t, lang, fallback)
}

/// Fills `{name}` placeholders; unknown placeholders are left as they are. One pass over the
/// template: a value is put in as it is, never read for placeholders again (a name typed as
/// `{office}` stays that text).
pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            let (_, v) = vars.iter().find(|(k, _)| *k == name)?;
            Some((v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The office-editable system texts (`dialogs/system.toml`) in the configured languages.
#[derive(Debug, Clone, Default)]
pub struct Texts {
    /// The configured languages, the default first.
    pub languages: Vec<String>,
    /// Every system text by key.
    pub system: BTreeMap<String, I18n>,
    /// The officers' chat texts by key, each bilingual in one line (`dialogs/officers.toml`).
    pub officers: BTreeMap<String, String>,
}

impl Texts {
    /// The default language (the first configured).
    pub fn default_lang(&self) -> &str {
        self.languages.first().map(String::as_str).unwrap_or("id")
    }

    /// A system text in a language (falls back to the default language; an unknown key is
    /// returned as it is, which the loader's check of every key keeps from happening).
    pub fn get(&self, key: &str, lang: &str) -> String {
        self.get_for(key, lang, None)
    }

    /// A system text in a language, in its channel `variant` when it has one (see [`pick_for`]).
    pub fn get_for(&self, key: &str, lang: &str, variant: Option<&str>) -> String {
        self.system
            .get(key)
            .map(|t| pick_for(t, lang, self.default_lang(), variant))
            .unwrap_or_else(|| key.to_string())
    }

    /// An officers' chat text with its placeholders filled.
    pub fn officer(&self, key: &str, vars: &[(&str, String)]) -> String {
        match self.officers.get(key) {
            Some(t) => fill(t, vars),
            None => key.to_string(),
        }
    }

    /// `lang` when it is configured, else the default language.
    pub fn lang_or_default(&self, lang: Option<&str>) -> String {
        lang.filter(|l| self.languages.iter().any(|c| c == l))
            .unwrap_or(self.default_lang())
            .to_string()
    }
}

/// A problem in a text or data file: the file, the step or entry (when it is about one), and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {problem}", step.as_ref().map(|s| format!(", step `{s}`")).unwrap_or_default())]
pub struct LoadError {
    pub file: String,
    pub step: Option<String>,
    pub problem: String,
}

impl LoadError {
    pub fn new(file: &str, step: Option<&str>, problem: impl Into<String>) -> Self {
        LoadError {
            file: file.to_string(),
            step: step.map(str::to_string),
            problem: problem.into(),
        }
    }
}

/// All problems found, so an office fixes them in one go.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} problem(s) in the dialogs:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
pub struct LoadErrors(pub Vec<LoadError>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_a_language_with_fallbacks_and_fills_placeholders() {
        let t: I18n = [("id".to_string(), "Halo {name}".to_string())].into();
        assert_eq!(pick(&t, "en", "id"), "Halo {name}");
        assert_eq!(
            fill(&pick(&t, "id", "id"), &[("name", "Siti".into())]),
            "Halo Siti"
        );
        let texts = Texts {
            languages: vec!["id".into(), "en".into()],
            system: [("hi".to_string(), t)].into(),
            officers: [("new".to_string(), "Baru / new {n}".to_string())].into(),
        };
        assert_eq!(texts.officer("new", &[("n", "7".into())]), "Baru / new 7");
        assert_eq!(texts.get("nope", "id"), "nope");
        assert_eq!(texts.lang_or_default(Some("fr")), "id");
        assert_eq!(texts.lang_or_default(Some("en")), "en");
    }

    #[test]
    fn fill_leaves_unknown_placeholders_and_never_fills_a_value_again() {
        let vars = [
            ("name", "{office}".to_string()),
            ("office", "BPS".to_string()),
        ];
        assert_eq!(
            fill("{name} di {office}, {tanggal} {", &vars),
            "{office} di BPS, {tanggal} {"
        );
        assert_eq!(fill("{{name}}", &vars), "{{office}}");
        assert_eq!(fill("Selesai.", &vars), "Selesai.");
        assert_eq!(fill("Ibu {name", &vars), "Ibu {name");
    }
}
