//! The understanding layer prepared for the shipped dialogs (issue 19): the lexicon, the
//! options of every choice step, the catalog's products and every dialog's intent words, each
//! normalised once at start-up so that a message costs only its own reading
//! (`crate::understand` does the reading; this file only builds its inputs from the dialogs).

use super::data::Catalog;
use super::spec::{Dialog, StepKind};
use crate::understand::{Choices, IntentText, Intents, Lexicon, OptionText};
use std::collections::{BTreeMap, HashMap};

/// Everything the steps read messages with.
#[derive(Debug, Clone, Default)]
pub struct Understanding {
    pub lexicon: Lexicon,
    /// The intents of every dialog that has an `[intent]` table.
    pub intents: Intents,
    /// The catalog's products (the cart reads product names with these).
    pub catalog: Choices,
    /// The options of each choice step, by dialog, then step (looked up per message without
    /// building a key).
    choices: HashMap<String, HashMap<String, Choices>>,
}

impl Understanding {
    /// Prepares the dialogs' words with the lexicon.
    pub fn new(
        lexicon: Lexicon,
        dialogs: &BTreeMap<String, Dialog>,
        catalog: &Catalog,
    ) -> Understanding {
        let intent_texts: Vec<IntentText> = dialogs
            .values()
            .map(|d| IntentText {
                id: &d.id,
                keywords: d.intent.keywords.iter().map(String::as_str).collect(),
                phrases: d.intent.phrases.iter().map(String::as_str).collect(),
                patterns: d.intent.patterns.clone(),
            })
            .collect();
        let intents = Intents::new(&lexicon, &intent_texts);
        let products: Vec<OptionText> = catalog
            .products
            .iter()
            .map(|p| OptionText {
                value: &p.code,
                labels: p.name.values().map(String::as_str).collect(),
                also: p.also.iter().map(String::as_str).collect(),
            })
            .collect();
        let catalog = Choices::new(&lexicon, &products);
        let mut choices: HashMap<String, HashMap<String, Choices>> = HashMap::new();
        for d in dialogs.values() {
            for s in &d.steps {
                let StepKind::Choice(c) = &s.kind else {
                    continue;
                };
                let texts: Vec<OptionText> = c
                    .options
                    .iter()
                    .map(|o| OptionText {
                        value: &o.value,
                        labels: o.label.values().map(String::as_str).collect(),
                        also: o.also.iter().map(String::as_str).collect(),
                    })
                    .collect();
                choices
                    .entry(d.id.clone())
                    .or_default()
                    .insert(s.id.clone(), Choices::new(&lexicon, &texts));
            }
        }
        Understanding {
            lexicon,
            intents,
            catalog,
            choices,
        }
    }

    /// The prepared options of a choice step.
    pub fn choices(&self, dialog: &str, step: &str) -> Option<&Choices> {
        self.choices.get(dialog)?.get(step)
    }
}
