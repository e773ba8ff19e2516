//! The `cart` kind: picks products of the PNBP catalog, asks each one's quantity (a follow-up
//! question), and shows the lines and the total until the person is done.

use super::{Kind, Miss, Reading, Said, Takes, Turn, button};
use crate::cases::{Answer, CartLine};
use crate::dialogs::data::Product;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::render::{self, rupiah};
use crate::dialogs::{Bot, Reply, SubState, input};
use crate::message::OutboundChoice;
use crate::text::fill;
use crate::understand::{self, CartReading};

/// Picks products from the PNBP catalog with quantities and shows the total.
#[derive(Debug, Clone)]
pub struct CartStep;

impl CartStep {
    pub const NAME: &'static str = "cart";
    pub const KEYS: &'static [&'static str] = &[];

    /// Builds the step; it has no keys of its own (the products are the catalog's).
    pub(super) fn parse(_raw: &RawStep, _problems: &mut StepProblems) -> CartStep {
        CartStep
    }
}

/// The lines in the cart so far.
fn lines(turn: &Turn) -> Vec<CartLine> {
    if let Some(Answer::Cart(l)) = turn.answers.get(&turn.step.field) {
        l.clone()
    } else {
        Vec::new()
    }
}

impl Kind for CartStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn takes(&self) -> Takes {
        Takes {
            numbered_buttons: true,
            asides: true,
            ..Takes::WORDS
        }
    }

    fn buttons(&self, turn: &Turn) -> Vec<OutboundChoice> {
        let mut c: Vec<OutboundChoice> = turn
            .bot
            .catalog
            .products
            .iter()
            .map(|p| {
                let label = format!(
                    "{} — {}/{}",
                    turn.pick(&p.name),
                    rupiah(p.tariff),
                    turn.pick(&p.unit)
                );
                button(&p.code, label)
            })
            .collect();
        if !lines(turn).is_empty() {
            c.push(button("done", turn.sys("cart_done")));
        }
        c
    }

    fn says_prompt(&self, turn: &Turn) -> bool {
        lines(turn).is_empty()
    }

    fn prompt_notes(&self, turn: &Turn) -> Vec<String> {
        let lines = lines(turn);
        if lines.is_empty() {
            return vec![fill(
                &turn.sys("cart_intro"),
                &[("source", turn.pick(&turn.bot.catalog.source))],
            )];
        }
        let (text, total) = render::cart_text(turn.bot, &lines, turn.lang);
        vec![
            text,
            fill(&turn.sys("cart_total"), &[("total", rupiah(total))]),
            turn.sys("cart_more"),
        ]
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("expect_choice", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let words = said.words;
        let lex = turn.lex();
        if input::is_done_word(words) || understand::done_word(lex, words) {
            return if lines(turn).is_empty() {
                Reading::miss("cart_empty")
            } else {
                Reading::Done
            };
        }
        let catalog = &turn.bot.catalog;
        let by_number = words
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| catalog.products.get(i));
        if let Some(p) = by_number.or_else(|| catalog.product(words.trim())) {
            return Reading::Follow(SubState::CartQuantity(p.code.clone()));
        }
        match understand::cart_item(lex, &turn.bot.understanding.catalog, words) {
            CartReading::Product { index, quantity } => {
                let Some(p) = catalog.products.get(index) else {
                    return Reading::miss("cart_unknown");
                };
                match quantity {
                    // "susenas 2 eksemplar": the quantity question is not asked again.
                    // (a fraction or a negative number is refused by `add_line` as 0)
                    Some(q) => {
                        let whole = if q.fract() == 0.0 && q >= 1.0 { q } else { 0.0 };
                        add_line(turn, p, whole.min(f64::from(u32::MAX)) as u32)
                    }
                    None => Reading::Follow(SubState::CartQuantity(p.code.clone())),
                }
            }
            CartReading::Tie(list) => Reading::Miss(Miss {
                only: list
                    .iter()
                    .filter_map(|i| catalog.products.get(*i))
                    .map(|p| button(&p.code, turn.pick(&p.name)))
                    .collect(),
                ..Miss::new("choice_tie", Vec::new())
            }),
            CartReading::Done => Reading::miss("cart_empty"),
            CartReading::None => Reading::miss("cart_unknown"),
        }
    }
}

/// The follow-up question: how many of this product (none when the product is gone).
pub(super) fn quantity_question(turn: &Turn, code: &str) -> Option<Reply> {
    let p = turn.bot.catalog.product(code)?;
    let text = fill(
        &turn.sys("cart_quantity"),
        &[
            ("product", turn.pick(&p.name)),
            ("unit", turn.pick(&p.unit)),
            ("tariff", rupiah(p.tariff)),
            ("max", p.max_quantity.to_string()),
        ],
    );
    Some(Reply::new(text, Vec::new()))
}

/// Reads the quantity of a product: a whole number from 1 to the product's maximum. The line
/// is added (or its quantity replaced) and the cart asked again.
pub(super) fn read_quantity(turn: &Turn, code: &str, words: &str) -> Reading {
    let Some(p) = turn.bot.catalog.product(code) else {
        return Reading::Follow(SubState::None);
    };
    let qty = input::parse_number(words)
        .or_else(|| understand::number(turn.lex(), words))
        .filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= f64::from(p.max_quantity));
    let Some(qty) = qty else {
        return Reading::miss_with(
            "number_range",
            vec![("min", "1".into()), ("max", p.max_quantity.to_string())],
        );
    };
    add_line(turn, p, qty as u32)
}

/// Puts `qty` of a product in the cart (or changes its quantity) and says the new total.
fn add_line(turn: &Turn, p: &Product, qty: u32) -> Reading {
    if qty == 0 || qty > p.max_quantity {
        return Reading::miss_with(
            "number_range",
            vec![("min", "1".into()), ("max", p.max_quantity.to_string())],
        );
    }
    let mut lines = lines(turn);
    match lines.iter_mut().find(|l| l.code == p.code) {
        Some(l) => l.quantity = qty,
        None => lines.push(CartLine {
            code: p.code.clone(),
            quantity: qty,
            unit_tariff: p.tariff,
        }),
    }
    let (_, total) = render::cart_text(turn.bot, &lines, turn.lang);
    let said = fill(
        &turn.sys("cart_added"),
        &[
            ("product", turn.pick(&p.name)),
            ("quantity", qty.to_string()),
            ("subtotal", rupiah(p.tariff.saturating_mul(u64::from(qty)))),
            ("total", rupiah(total)),
        ],
    );
    Reading::Keep {
        value: Answer::Cart(lines),
        said,
    }
}
