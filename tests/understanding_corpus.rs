//! The understanding corpus (issue 19): every message of `tests/fixtures/understanding.toml`
//! (a copy of the public corpus; CI has no `../shared`) and of our own
//! `tests/fixtures/understanding_extra.toml` (different words, typos, English, and messages
//! that must NOT be captured) is read against the SHIPPED dialog files, through
//! `pstbot::understand` the way the engine calls it. Prints the accuracy per situation and
//! fails on any miss.

use crate::support;

use chrono::NaiveDate;
use pstbot::dialogs::load::{Loaded, load_dir};
use pstbot::dialogs::spec::{DateBound, Dialog, Next, StepKind};
use pstbot::dialogs::understanding::Understanding;
use pstbot::understand::{
    self as u, CartReading, ChoiceMode, ChoiceReading, Choices, DateReading, Direction,
    EmailReading, IntentReading, SummaryReading,
};
use std::collections::BTreeMap;
use toml::Value;

/// Everything built once, by the engine's own start-up preparation (`Understanding`).
struct World {
    loaded: Loaded,
    und: Understanding,
}

impl World {
    fn new() -> World {
        let loaded = load_dir(
            &support::repo().join("dialogs"),
            &["id".to_string(), "en".to_string()],
        )
        .expect("the shipped dialogs load");
        let und = Understanding::new(loaded.lexicon.clone(), &loaded.dialogs, &loaded.catalog);
        World { loaded, und }
    }

    /// The prepared options of a choice step, as the engine reads them.
    fn choices(&self, dialog: &str, step: &str) -> &Choices {
        self.und
            .choices(dialog, step)
            .unwrap_or_else(|| panic!("{dialog}.{step} is a choice step"))
    }

    fn lex(&self) -> &u::Lexicon {
        &self.loaded.lexicon
    }

    /// What the menu does with a free message: a number or a whole option name, else an intent,
    /// else a question the FAQ answers (the info service), else nothing.
    fn menu(&self, text: &str) -> String {
        let lex = self.lex();
        if let ChoiceReading::One(i) =
            u::choose(lex, self.choices("menu", "main"), text, ChoiceMode::Exact)
        {
            let opt = &menu_options(&self.loaded)[i];
            return match &opt.next {
                Some(Next::Start(d)) => d.clone(),
                _ => opt.value.clone(),
            };
        }
        match u::intent(lex, &self.und.intents, text) {
            IntentReading::Dialog(d) => return d,
            IntentReading::Tie(ids) => return format!("tie {}", ids.join("/")),
            IntentReading::None => {}
        }
        if u::is_question(lex, text) && self.loaded.faq.scored_match_normalized(lex, text).is_some()
        {
            return "info".into();
        }
        "none".into()
    }

    /// The FAQ entry a mid-form message is answered with, when it is a question.
    fn question(&self, text: &str) -> Option<String> {
        let lex = self.lex();
        if !u::is_question(lex, text) {
            return None;
        }
        self.loaded
            .faq
            .scored_match_normalized(lex, text)
            .map(|(_, e)| e.id.clone())
    }
}

fn dialog<'a>(loaded: &'a Loaded, id: &str) -> &'a Dialog {
    loaded
        .dialogs
        .get(id)
        .unwrap_or_else(|| panic!("dialog {id}"))
}

fn menu_options(loaded: &Loaded) -> &[pstbot::dialogs::spec::ChoiceOption] {
    match &dialog(loaded, "menu").step("main").expect("menu step").kind {
        StepKind::Choice(choice) => &choice.options,
        _ => panic!("the menu is a choice"),
    }
}

/// A choice step's option values and whether several may be chosen.
fn step_options(d: &Dialog, step: &str) -> (Vec<String>, bool) {
    let s = d.step(step).unwrap_or_else(|| panic!("step {step}"));
    let StepKind::Choice(choice) = &s.kind else {
        panic!("{step} is not a choice");
    };
    (
        choice.options.iter().map(|o| o.value.clone()).collect(),
        choice.multiple,
    )
}

fn split_step(s: &str) -> (&str, &str) {
    s.split_once('.').expect("dialog.step")
}

fn day(v: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(v.as_str().expect("a date string"), "%Y-%m-%d").expect("ISO date")
}

fn expect_str(case: &Value) -> String {
    match &case["expect"] {
        Value::String(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// What our layer (plus the step's rules, as the engine applies them) makes of one case.
fn read(w: &World, situation: &str, case: &Value) -> String {
    let lex = w.lex();
    let input = case["input"].as_str().expect("input");
    let step = case.get("step").and_then(Value::as_str);
    match situation {
        "menu" => w.menu(input),
        // At choice and cart steps the engine checks for a question first.
        "cart" if w.question(input).is_some() => {
            format!("question {}", w.question(input).unwrap_or_default())
        }
        "cart" => match u::cart_item(lex, &w.und.catalog, input) {
            CartReading::Done => "done".into(),
            CartReading::Product { index, quantity } => {
                let code = w.loaded.catalog.products[index].code.clone();
                match quantity {
                    Some(q) => format!("{code} x{q}"),
                    None => code,
                }
            }
            CartReading::Tie(v) => format!("tie {v:?}"),
            CartReading::None => "none".into(),
        },
        "yes_no" => match u::yes_no(lex, input) {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => "none".into(),
        },
        "skip" => if u::skip(lex, input) {
            "skip"
        } else {
            "answer"
        }
        .into(),
        "summary" => match u::summary(lex, input) {
            Some(SummaryReading::Confirm) => "confirm".into(),
            Some(SummaryReading::Change) => "change".into(),
            None => "none".into(),
        },
        "date" => read_date(w, case, input, step.expect("date step")),
        "number" => read_number(w, input, step.expect("number step")),
        "phone" => {
            let (d, s) = split_step(step.expect("phone step"));
            let StepKind::Phone(phone) = &dialog(&w.loaded, d).step(s).expect("step").kind else {
                panic!("{s} is not a phone step");
            };
            let mobile_only = phone.mobile_only;
            match u::phone(input, mobile_only) {
                Ok(p) => p.e164,
                Err(_) => "refuse".into(),
            }
        }
        "email" => match u::email(lex, input) {
            EmailReading::Ok(a) => a,
            EmailReading::Suggest { suggested, .. } => suggested,
            EmailReading::Invalid => "refuse".into(),
        },
        "question_mid_form" => match w.question(input) {
            Some(id) => format!("question {id}"),
            None => "answer".into(),
        },
        "global" => match u::command(lex, input) {
            Some(c) => c.key(),
            None => "answer".into(),
        },
        choice if choice.starts_with("choice.") && w.question(input).is_some() => {
            format!("question {}", w.question(input).unwrap_or_default())
        }
        choice if choice.starts_with("choice.") => {
            let (d, s) = split_step(&choice["choice.".len()..]);
            let (values, multiple) = step_options(dialog(&w.loaded, d), s);
            let choices = w.choices(d, s);
            let mode = if multiple {
                ChoiceMode::Multiple
            } else {
                ChoiceMode::Single
            };
            match u::choose(lex, choices, input, mode) {
                ChoiceReading::One(i) => values[i].clone(),
                ChoiceReading::Several(v) => v
                    .iter()
                    .map(|i| values[*i].as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                ChoiceReading::Tie(v) => format!("tie {v:?}"),
                ChoiceReading::None => "none".into(),
            }
        }
        other => panic!("unknown situation {other}"),
    }
}

/// The date as the engine would store it: read with the step's direction, then checked against
/// the step's bounds; anything else stores nothing ("refuse").
fn read_date(w: &World, case: &Value, input: &str, step: &str) -> String {
    let (d, s) = split_step(step);
    let StepKind::Date(date) = &dialog(&w.loaded, d).step(s).expect("step").kind else {
        panic!("{s} is not a date step");
    };
    let (min, max, not_before_field) = (&date.min, &date.max, &date.not_before_field);
    let today = day(&case["today"]);
    let direction = if *max == Some(DateBound::Today) {
        Direction::Past
    } else if *min == Some(DateBound::Today) || not_before_field.is_some() {
        Direction::Future
    } else {
        Direction::Any
    };
    let bound = |b: &Option<DateBound>| match b {
        Some(DateBound::Today) => Some(today),
        Some(DateBound::Fixed(f)) => Some(*f),
        None => None,
    };
    match u::date(w.lex(), input, today, direction) {
        DateReading::Date(date) => {
            let start = case
                .get("start")
                .map(day)
                .filter(|_| not_before_field.is_some());
            let too_late = bound(max).is_some_and(|m| date > m);
            let too_early = bound(min).is_some_and(|m| date < m) || start.is_some_and(|s| date < s);
            if too_late || too_early {
                "refuse".into()
            } else {
                date.format("%Y-%m-%d").to_string()
            }
        }
        DateReading::NoSuchDate | DateReading::None => "refuse".into(),
    }
}

/// The number as the engine would store it: the step's min, max and whole-number rule.
fn read_number(w: &World, input: &str, step: &str) -> String {
    let (min, max, integer) = if step == "produk.products" {
        (1.0, 1000.0, true) // the cart's quantity question
    } else {
        let (d, s) = split_step(step);
        match &dialog(&w.loaded, d).step(s).expect("step").kind {
            StepKind::Number(n) => (n.min, n.max, n.integer),
            _ => panic!("{s} is not a number step"),
        }
    };
    match u::number(w.lex(), input) {
        Some(n) if n >= min && n <= max && (!integer || n.fract() == 0.0) => {
            format!("{}", n as i64)
        }
        _ => "refuse".into(),
    }
}

/// What a case expects, in the form [`read`] gives.
fn expected(situation: &str, case: &Value) -> String {
    let e = expect_str(case);
    match situation {
        "cart" => match case.get("quantity").and_then(Value::as_integer) {
            Some(q) => format!("{e} x{q}"),
            None => e,
        },
        "question_mid_form" if e == "question" => {
            format!("question {}", case["faq"].as_str().expect("faq id"))
        }
        _ => e,
    }
}

/// Runs one corpus file (in `tests/fixtures`, or a path); returns the misses.
fn run(w: &World, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(support::repo().join("tests/fixtures").join(file))
        .expect("the corpus file");
    let corpus: Value = toml::from_str(&text).expect("the corpus parses");
    let mut situations: Vec<(String, &Value)> = Vec::new();
    for (k, v) in corpus.as_table().expect("tables") {
        if k == "choice" {
            for (step, t) in v.as_table().expect("choice tables") {
                situations.push((format!("choice.{step}"), t));
            }
        } else {
            situations.push((k.clone(), v));
        }
    }
    let mut misses = Vec::new();
    let mut table: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    println!("\n{file}:");
    for (situation, t) in &situations {
        let cases = t["cases"].as_array().expect("cases");
        let mut ok = 0;
        for case in cases {
            let got = read(w, situation, case);
            let want = expected(situation, case);
            if got == want {
                ok += 1;
            } else {
                misses.push(format!(
                    "{file} [{situation}] {:?}: expected {want}, got {got}",
                    case["input"].as_str().unwrap_or_default()
                ));
            }
        }
        println!("  {situation:<40} {ok}/{}", cases.len());
        table.insert(situation.clone(), (ok, cases.len()));
    }
    let (ok, all) = table.values().fold((0, 0), |(a, b), (o, n)| (a + o, b + n));
    println!("  {:<40} {ok}/{all}", "total");
    misses
}

#[test]
fn every_corpus_message_is_understood() {
    let w = World::new();
    let mut misses = run(&w, "understanding.toml");
    misses.extend(run(&w, "understanding_extra.toml"));
    // An office (or a reviewer) can try its own messages in the same format:
    // PSTBOT_CORPUS=/path/to/more.toml cargo test --test integration understanding_corpus:: -- --nocapture
    if let Ok(more) = std::env::var("PSTBOT_CORPUS") {
        misses.extend(run(&w, &more));
    }
    assert!(
        misses.is_empty(),
        "{} miss(es):\n{}",
        misses.len(),
        misses.join("\n")
    );
}
